"""Mirroring versions of a peer instance (federation, docs/federation.md and docs/trust.md).

The catalog asks with `MirrorRequested`; `handlers.py` consumes it on its own queue, `copy.py`
verifies and copies (image registry to registry by digest with `oci.py`, the origin's signature
checked and countersigned in `signatures.py`, the peer's token and artifacts through
`origin.py`), and the answer is `VersionMirrored` or `MirrorFailed` through the outbox.
"""
