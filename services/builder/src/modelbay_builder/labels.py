"""Image labels: the manifest, proto and OpenAPI document travel with the image.

The catalog (or anyone with `docker inspect`) can read a model's interface without running it.
The OpenAPI document is the one onboarding extracted at upload (`keys.openapi_key`); when it is
absent, a smaller one is derived from the bundle's JSON Schemas here — the builder never
unpickles a model to get it.
"""

from __future__ import annotations

import json
from typing import Any

from modelbay_common.blob import BlobNotFoundError, BlobStore
from modelbay_common.blob.keys import openapi_key

from modelbay_builder.inputs import BundleFiles

MANIFEST_LABEL = "dev.modelbay.manifest"
PROTO_LABEL = "dev.modelbay.proto"
OPENAPI_LABEL = "dev.modelbay.openapi"
MAX_OPENAPI_BYTES = 4 * 1024 * 1024


async def load_openapi(
    blobs: BlobStore, owner: str, name: str, version: int, bundle: BundleFiles
) -> dict[str, Any]:
    """Onboarding's OpenAPI document of this version, or one derived from the schemas."""
    try:
        raw = await blobs.get_bytes(openapi_key(owner, name, version), max_bytes=MAX_OPENAPI_BYTES)
        document = json.loads(raw)
        if isinstance(document, dict):
            return document
    except (BlobNotFoundError, ValueError):
        pass
    return openapi_from_schemas(name, str(version), bundle.manifest, bundle.schemas)


def openapi_from_schemas(
    name: str, version: str, manifest: dict[str, Any], schemas: dict[str, Any]
) -> dict[str, Any]:
    """A minimal OpenAPI 3.1 document: one POST per method with its JSON request/response."""
    paths: dict[str, Any] = {}
    for method, method_schemas in sorted(schemas.items()):
        if not isinstance(method_schemas, dict):
            continue
        description = str((manifest.get("methods") or {}).get(method, {}).get("description", ""))
        paths[f"/model/methods/{method}"] = {
            "post": {
                "operationId": method,
                "summary": description or method,
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": method_schemas.get("input", {})}},
                },
                "responses": {
                    "200": {
                        "description": "The method's output",
                        "content": {
                            "application/json": {"schema": method_schemas.get("output", {})}
                        },
                    }
                },
            }
        }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": name,
            "version": version,
            "description": str(manifest.get("description") or f"Model {name}"),
        },
        "paths": paths,
    }


def image_labels(
    *,
    owner: str,
    name: str,
    version: int,
    lock_hash: str,
    base_image: str,
    bundle: BundleFiles,
    openapi: dict[str, Any],
) -> dict[str, str]:
    """Every label of a model image (Modelbay's own and the OCI annotations)."""
    manifest = bundle.manifest
    labels = {
        MANIFEST_LABEL: _compact(manifest),
        PROTO_LABEL: bundle.proto_text,
        OPENAPI_LABEL: _compact(openapi),
        "dev.modelbay.owner": owner,
        "dev.modelbay.name": name,
        "dev.modelbay.version": str(version),
        "dev.modelbay.lock-hash": lock_hash,
        "org.opencontainers.image.title": f"{owner}/{name}",
        "org.opencontainers.image.version": str(version),
        "org.opencontainers.image.description": str(
            manifest.get("description") or f"Modelbay model {owner}/{name}"
        ),
        "org.opencontainers.image.vendor": "Modelbay",
        "org.opencontainers.image.base.name": base_image,
    }
    if manifest.get("license"):
        labels["org.opencontainers.image.licenses"] = str(manifest["license"])
    return labels


def _compact(document: Any) -> str:
    return json.dumps(document, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
