"""Text clean-up that a contributor keeps next to the training script (a local module)."""

import re
import unicodedata

import numpy as np

_SPACES = re.compile(r"\s+")


def clean_texts(texts: list[str]) -> np.ndarray:
    """Lower-case, strip accents and squeeze whitespace."""
    cleaned = []
    for text in texts:
        ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
        cleaned.append(_SPACES.sub(" ", ascii_text.lower()).strip())
    return np.array(cleaned, dtype=object)
