"""What a generated package is called in each language, from the model's owner, name and version."""

from __future__ import annotations

import re
from dataclasses import dataclass

from google.protobuf.descriptor_pb2 import FileDescriptorProto


@dataclass(frozen=True)
class Target:
    owner: str
    name: str
    version: int

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    @property
    def slug(self) -> str:
        """`alice`, `iris.v2` -> `alice-iris-v2`: valid for npm, PyPI and file names."""
        return re.sub(r"[^a-z0-9]+", "-", f"{self.owner}-{self.name}".lower()).strip("-")

    @property
    def identifier(self) -> str:
        """`alice_iris_v2`: a Python module or Java package segment."""
        ident = self.slug.replace("-", "_")
        return ident if ident[:1].isalpha() else f"m_{ident}"

    @property
    def python_dist(self) -> str:
        return f"{self.slug}-client"

    @property
    def python_module(self) -> str:
        return f"{self.identifier}_client"

    @property
    def npm_name(self) -> str:
        return f"{self.slug}-client"

    @property
    def java_package(self) -> str:
        return f"modelbay.clients.{self.identifier}"


def local_name(file: FileDescriptorProto, full_name: str) -> str:
    """`modelbay.iris.Outer.Inner` -> `Outer.Inner`: the name inside the generated module."""
    prefix = f"{file.package}." if file.package else ""
    return full_name.removeprefix(prefix)
