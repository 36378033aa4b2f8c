"""The artifacts of a model version a person can download: one list, with what each one is.

The catalog counts downloads per kind, the gateway derives its download routes, their OpenAPI
descriptions and the `links` of a version from this enum. Adding a kind here (plus where its
bytes come from in the gateway's `downloads.py`) is the whole change.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = ["ArtifactKind", "ArtifactSpec"]


@dataclass(frozen=True)
class ArtifactSpec:
    media_type: str
    description: str
    # Served from the blob store (SHA-256 checked); otherwise streamed by the builder.
    in_blob_store: bool
    # The download's file name, formatted with owner, name and version.
    filename_template: str


class ArtifactKind(StrEnum):
    BUNDLE = "bundle"
    PROTO = "proto"
    OPENAPI = "openapi"
    SBOM = "sbom"
    IMAGE = "image"
    PROVENANCE = "provenance"

    @property
    def spec(self) -> ArtifactSpec:
        return _SPECS[self]

    @property
    def media_type(self) -> str:
        return self.spec.media_type

    @property
    def description(self) -> str:
        return self.spec.description

    @property
    def in_blob_store(self) -> bool:
        return self.spec.in_blob_store

    def filename(self, owner: str, name: str, version: int) -> str:
        return self.spec.filename_template.format(owner=owner, name=name, version=version)


_SPECS: dict[ArtifactKind, ArtifactSpec] = {
    ArtifactKind.BUNDLE: ArtifactSpec(
        "application/gzip",
        "The uploaded bundle archive (tar.gz), SHA-256 checked.",
        True,
        "{owner}-{name}-{version}.tar.gz",
    ),
    ArtifactKind.PROTO: ArtifactSpec(
        "text/plain; charset=utf-8",
        "The model's protobuf interface (`model.proto`).",
        True,
        "{name}-{version}.proto",
    ),
    ArtifactKind.OPENAPI: ArtifactSpec(
        "application/json",
        "The OpenAPI document of the model's REST API.",
        True,
        "{name}-{version}.openapi.json",
    ),
    ArtifactKind.SBOM: ArtifactSpec(
        "application/vnd.cyclonedx+json",
        "CycloneDX SBOM of the image's Python packages (once the image is built).",
        True,
        "{name}-{version}.cdx.json",
    ),
    ArtifactKind.IMAGE: ArtifactSpec(
        "application/x-tar",
        "The image as a `docker save` tarball (`docker load -i` reads it), for air-gapped use.",
        False,
        "{owner}-{name}-{version}.tar",
    ),
    ArtifactKind.PROVENANCE: ArtifactSpec(
        "application/vnd.dsse.envelope.v1+json",
        "The image's provenance: an in-toto v1 statement with an SLSA v1 predicate (image, "
        "bundle, lock, base image, builder, SBOM and proto digests) in a DSSE envelope signed "
        "with the platform key (GET /v1/keys).",
        True,
        "{name}-{version}.intoto.json",
    ),
}
