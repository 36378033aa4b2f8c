"""Use case: the document of a solution version, as a person edits it (docs/solutions.md).

The version's bundle (content-addressed in the blob store, its SHA-256 recorded by the catalog)
holds `solution.json`, the document with every node resolved (image, digest, messages). What a
person edits is the document they wrote: the resolution is dropped (onboarding resolves again
when the edited document is pushed as the next version). Read as the caller, so a version they
may not see is the catalog's 404; a version that is not a solution is 409 `not-a-solution`.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from typing import Any

from modelbay_common.access import Caller
from modelbay_common.blob import BlobStore
from modelbay_common.errors import Conflict
from modelbay_runtime.solution import SOLUTION_FILE
from modelbay_runtime.solution_parse import parse_document

from modelbay_gateway.errors import CorruptArtifact
from modelbay_gateway.service_models import get_version
from modelbay_gateway.upstream import Upstreams

# A solution bundle is its document, a proto and each node's descriptor set: kilobytes.
MAX_SOLUTION_BUNDLE_BYTES = 16 * 1024 * 1024


class NotASolution(Conflict):
    type_slug = "not-a-solution"
    title = "Not a solution"

    def __init__(self, owner: str, name: str, version: int) -> None:
        super().__init__(
            f"Version {version} of {owner}/{name} is a model, not a solution: it has no "
            "solution document.",
            extensions={"owner": owner, "name": name, "version": version},
        )


async def solution_document(
    blob_store: BlobStore, upstreams: Upstreams, caller: Caller, owner: str, name: str, version: int
) -> dict[str, Any]:
    """The editable document of solution version `owner/name:version` (JSON-ready)."""
    detail = await get_version(upstreams, caller, owner, name, version)
    if detail.kind != "solution" or detail.bundle is None:
        raise NotASolution(owner, name, version)
    archive = bytearray()
    async for chunk in blob_store.open(detail.bundle.uri):
        archive += chunk
        if len(archive) > MAX_SOLUTION_BUNDLE_BYTES:
            raise CorruptArtifact("The stored solution bundle is larger than a solution's can be.")
    if detail.bundle.sha256 and hashlib.sha256(archive).hexdigest() != detail.bundle.sha256:
        raise CorruptArtifact("The stored solution bundle does not match its recorded SHA-256.")
    with tarfile.open(fileobj=io.BytesIO(bytes(archive)), mode="r:gz") as bundle:
        try:
            member = bundle.extractfile(SOLUTION_FILE)
        except KeyError:
            member = None
        if member is None:
            raise CorruptArtifact(f"The stored solution bundle has no {SOLUTION_FILE}.")
        resolved = parse_document(json.loads(member.read()))
    return resolved.with_resolved({}).to_dict()
