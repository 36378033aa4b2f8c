"""The provenance of a model image: an in-toto v1 statement with an SLSA v1 provenance predicate.

The builder writes it once the image is validated, pushed and signed, signs it in a DSSE
envelope with the platform's key (`modelbay_common.signing.dsse_sign`) and stores it at
`blob.keys.provenance_key`. It binds what the registry holds to what the platform was given:

- `subject`: the image (`registry/owner/name`), by its manifest digest;
- `predicate.buildDefinition.externalParameters`: the model version and its bundle digest;
- `resolvedDependencies`: the bundle, the base image, the lock (by its hash), the proto file;
- `byproducts`: the SBOM (by digest);
- `runDetails.builder`: the builder and its version.

A verifier (`modelbay_common.signing.dsse_verify`, or any DSSE/in-toto tool such as
`cosign verify-blob-attestation`'s envelope check) needs only the keys at `GET /v1/keys`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
SLSA_PROVENANCE = "https://slsa.dev/provenance/v1"
BUILD_TYPE = "https://modelbay.dev/build/model-image/v1"
BUILDER_ID = "https://modelbay.dev/builder"
ENVELOPE_MEDIA_TYPE = "application/vnd.dsse.envelope.v1+json"


def _sha256(digest: str) -> dict[str, str]:
    """`sha256:abc` or `abc` → in-toto's DigestSet `{"sha256": "abc"}`."""
    return {"sha256": digest.removeprefix("sha256:")}


@dataclass(frozen=True)
class ImageProvenance:
    """What one build consumed and produced, with the digests that pin each."""

    repository: str  # registry/owner/name
    image_digest: str
    owner: str
    name: str
    version: int
    bundle_uri: str
    bundle_sha256: str
    lock_hash: str
    base_image: str
    base_image_id: str | None
    proto_sha256: str | None
    sbom_key: str
    sbom_sha256: str
    builder_version: str
    started: datetime
    finished: datetime

    def statement(self) -> dict[str, Any]:
        dependencies: list[dict[str, Any]] = [
            {"uri": self.bundle_uri, "digest": _sha256(self.bundle_sha256), "name": "bundle"},
            {
                "uri": f"docker-image:{self.base_image}",
                "name": "base-image",
                **({"digest": _sha256(self.base_image_id)} if self.base_image_id else {}),
            },
            {"name": "lock", "digest": _sha256(self.lock_hash)},
        ]
        if self.proto_sha256:
            dependencies.append({"name": "model.proto", "digest": _sha256(self.proto_sha256)})
        return {
            "_type": STATEMENT_TYPE,
            "subject": [{"name": self.repository, "digest": _sha256(self.image_digest)}],
            "predicateType": SLSA_PROVENANCE,
            "predicate": {
                "buildDefinition": {
                    "buildType": BUILD_TYPE,
                    "externalParameters": {
                        "model": f"{self.owner}/{self.name}",
                        "version": self.version,
                        "bundleSha256": self.bundle_sha256,
                        "lockHash": self.lock_hash,
                        "baseImage": self.base_image,
                    },
                    "resolvedDependencies": dependencies,
                },
                "runDetails": {
                    "builder": {
                        "id": BUILDER_ID,
                        "version": {"modelbay-builder": self.builder_version},
                    },
                    "metadata": {
                        "startedOn": self.started.isoformat(),
                        "finishedOn": self.finished.isoformat(),
                    },
                    "byproducts": [
                        {
                            "name": "sbom",
                            "uri": self.sbom_key,
                            "digest": _sha256(self.sbom_sha256),
                            "mediaType": "application/vnd.cyclonedx+json",
                        }
                    ],
                },
            },
        }


def statement_subject_digest(statement: dict[str, Any]) -> str:
    """`sha256:<hex>` of the statement's first subject (what a verifier compares with the
    image digest it is about to run)."""
    return "sha256:" + str(statement["subject"][0]["digest"]["sha256"])
