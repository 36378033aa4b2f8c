"""A CycloneDX 1.5 JSON SBOM of the Python packages inside a model image.

Written by hand rather than with cyclonedx-python-lib: the document needs a dozen fields, and the
unit tests check it against the official 1.5 JSON schema. Components are the distributions the
image's interpreter sees (venv + runtime), each with a `pkg:pypi` purl, and the Debian packages
the model needs (`pkg:deb`, docs/system-packages.md); the image itself is the
`metadata.component`, identified by its registry digest. The serial number is derived from the
digest, so the same image always gets the same SBOM identity.
"""

from __future__ import annotations

import io
import json
import re
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote

from modelbay_common.blob import BlobStore
from modelbay_common.blob.keys import sbom_key

SBOM_CONTENT_TYPE = "application/vnd.cyclonedx+json"
_SERIAL_NAMESPACE = uuid.UUID("5f1c8e5e-2a55-4d3b-9b61-6d6f64656c62")


async def store_sbom(
    blobs: BlobStore, owner: str, name: str, version: int, document: Mapping[str, Any]
) -> str:
    """Write a version's SBOM to the blob store; returns its key."""
    key = sbom_key(owner, name, version)
    body = json.dumps(document, indent=2).encode()
    await blobs.put(key, io.BytesIO(body), content_type=SBOM_CONTENT_TYPE)
    return key


def normalize_name(name: str) -> str:
    """PEP 503 normalisation, which is also how purl-spec spells pypi names."""
    return re.sub(r"[-_.]+", "-", name).lower()


def pypi_purl(name: str, version: str) -> str:
    return f"pkg:pypi/{quote(normalize_name(name))}@{quote(version, safe='+!')}"


def oci_purl(repository: str, digest: str) -> str:
    """`pkg:oci/<name>@<digest>?repository_url=<registry>/<path>` (purl-spec's oci type)."""
    last_segment = repository.rsplit("/", 1)[-1]
    return f"pkg:oci/{last_segment}@{quote(digest, safe='')}?repository_url={quote(repository)}"


def build_sbom(
    *,
    repository: str,
    version: int,
    digest: str,
    distributions: Iterable[Mapping[str, str]],
    created: datetime,
    tool_version: str,
    system_packages: Iterable[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """The SBOM document (a JSON-ready dict): the Python distributions and the Debian packages
    the image needs (docs/system-packages.md)."""
    image_ref = f"{repository}@{digest}"
    python = [_component(d) for d in distributions if d.get("name") and d.get("version")]
    debian = [_deb_component(p) for p in system_packages if p.get("name") and p.get("version")]
    components = sorted([*python, *debian], key=lambda component: str(component["bom-ref"]))
    return {
        "$schema": "http://cyclonedx.org/schema/bom-1.5.schema.json",
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": f"urn:uuid:{uuid.uuid5(_SERIAL_NAMESPACE, image_ref)}",
        "version": 1,
        "metadata": {
            "timestamp": created.isoformat().replace("+00:00", "Z"),
            "tools": {
                "components": [
                    {"type": "application", "name": "modelbay-builder", "version": tool_version}
                ]
            },
            "component": {
                "type": "container",
                "bom-ref": image_ref,
                "name": repository,
                "version": str(version),
                "purl": oci_purl(repository, digest),
                "hashes": _digest_hashes(digest),
            },
        },
        "components": components,
        "dependencies": [
            {"ref": image_ref, "dependsOn": [str(component["bom-ref"]) for component in components]}
        ],
    }


def _component(dist: Mapping[str, str]) -> dict[str, Any]:
    purl = pypi_purl(dist["name"], dist["version"])
    component: dict[str, Any] = {
        "type": "library",
        "bom-ref": purl,
        "name": dist["name"],
        "version": dist["version"],
        "purl": purl,
    }
    if dist.get("summary"):
        component["description"] = dist["summary"]
    licence = _license(dist.get("license", ""))
    if licence:
        component["licenses"] = [licence]
    return component


def deb_purl(name: str, version: str) -> str:
    """`pkg:deb/debian/<name>@<version>?arch=amd64` (purl-spec's deb type)."""
    return f"pkg:deb/debian/{quote(name)}@{quote(version, safe='+~')}?arch=amd64"


def _deb_component(package: Mapping[str, Any]) -> dict[str, Any]:
    purl = deb_purl(str(package["name"]), str(package["version"]))
    reasons = ", ".join(str(reason) for reason in package.get("reasons") or ())
    installed = "installed by the image's system-package layer"
    origin = installed if package.get("fetched", True) else "provided by the base image"
    return {
        "type": "library",
        "bom-ref": purl,
        "name": str(package["name"]),
        "version": str(package["version"]),
        "purl": purl,
        "description": f"Debian package ({origin}){': ' + reasons if reasons else ''}",
    }


def _license(text: str) -> dict[str, Any] | None:
    # The License field is free text: some packages paste the whole licence into it. Keep
    # short one-line names only; the rest says nothing a reader of an SBOM could use.
    text = text.strip()
    if not text or "\n" in text or len(text) > 100:
        return None
    return {"license": {"name": text}}


def _digest_hashes(digest: str) -> list[dict[str, str]]:
    algorithm, _, value = digest.partition(":")
    if algorithm == "sha256" and re.fullmatch(r"[0-9a-f]{64}", value):
        return [{"alg": "SHA-256", "content": value}]
    return []
