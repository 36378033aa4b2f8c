"""Why a client could not be generated, rendered as problem+json."""

from __future__ import annotations

from modelbay_common.errors import Conflict, ServiceUnavailable


class ProtoCompilerMissing(ServiceUnavailable):
    type_slug = "proto-compiler-missing"
    title = "Client generation unavailable"

    def __init__(self) -> None:
        super().__init__(
            "This gateway has no `protoc` on its PATH (Debian package protobuf-compiler, "
            "installed by scripts/bootstrap.sh), so it cannot generate client packages."
        )


class ProtoDoesNotCompile(Conflict):
    type_slug = "proto-does-not-compile"
    title = "The version's proto does not compile"

    def __init__(self, reason: str) -> None:
        super().__init__(f"protoc refused the version's model.proto: {reason}")
