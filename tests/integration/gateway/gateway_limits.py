"""Limits the gateway integration tests configure (shared by conftest.py and the tests)."""

GATEWAY_MAX_UPLOAD = 1024 * 1024  # small, so the oversized-upload test sends only a few MiB
