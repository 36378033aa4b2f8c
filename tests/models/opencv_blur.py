"""An OpenCV (headless) image filter: its wheel's shared objects need `libz.so.1` from the
system (found by the resolver's ELF scan; the Debian base has it) beside its vendored libraries."""

import cv2
import numpy as np
from modelbay import List, Model, NDArray

EXPECTED = {"numpy", "opencv-python-headless"}


def blur(pixels: NDArray[np.float64, (None, None)]) -> List[float]:
    """A 3x3 Gaussian blur (border replicated), flattened row by row, to 4 decimals."""
    blurred = cv2.GaussianBlur(np.asarray(pixels, dtype=np.float64), (3, 3), 0,
                               borderType=cv2.BORDER_REPLICATE)  # fmt: skip
    return [round(float(v), 4) for v in blurred.ravel()]


model = Model(
    blur=blur,
    samples={"blur": [{"pixels": [[0.0, 0.0, 0.0], [0.0, 16.0, 0.0], [0.0, 0.0, 0.0]]}]},
)
