"""Which `owner` and `name` may be used: each becomes one component of a Docker repository path.

Rule (the OCI distribution spec's path component, lowercase only, and the SDK's `check_name`):
1-64 characters of `a-z`, `0-9`, separated by single `.`, `_` or `-`; starting and ending with a
letter or digit. `<registry>/<owner>/<name>:<version>` is then always a valid image reference.
"""

from __future__ import annotations

import re

from modelbay_onboarding.errors import InvalidModelName

NAME_PATTERN = re.compile(r"[a-z0-9]+(?:[._-][a-z0-9]+)*")
MAX_NAME_LENGTH = 64


def check_model_name(kind: str, value: str) -> str:
    """Return `value` if it is a valid `kind` ("owner" or "name"), else raise InvalidModelName."""
    if len(value) > MAX_NAME_LENGTH or not NAME_PATTERN.fullmatch(value):
        raise InvalidModelName(
            f"{kind} {value!r} is not valid: use 1-{MAX_NAME_LENGTH} lowercase letters and "
            "digits, with single '.', '_' or '-' between them (e.g. 'iris_model'); it becomes "
            "part of the Docker image name",
            extensions={"field": kind},
        )
    return value
