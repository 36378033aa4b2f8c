"""Use case: accept a solution (check → build its bundle → store → version → ModelUploaded).

The solution then travels the models' own pipeline: its bundle is content-addressed like any
bundle, `record_upload` takes its version number and writes `ModelUploaded` (no requirements of
its own: the resolver locks only the model server's), the builder builds the image from the same
base and wheelhouse, and `python -m modelbay_runtime serve /model` finds `solution.json` and runs
the orchestrator. Every refusal happens before anything is stored and names the node.
"""

from __future__ import annotations

import asyncio
import json
import logging
import tarfile
import tempfile
from collections.abc import Mapping
from pathlib import Path

from modelbay_common.access import Caller
from modelbay_common.blob import BlobNotFoundError, BlobStore
from modelbay_common.contracts.solutions import NodeVersionFacts, SolutionSubmission
from modelbay_common.db import SessionFactory, transaction
from modelbay_common.refs import served_url
from modelbay_common.scratch import owned_prefix
from modelbay_runtime.loader import DESCRIPTOR_SET, MANIFEST, SCHEMAS
from modelbay_runtime.solution import (
    ResolvedNode,
    SolutionDocument,
    SolutionDocumentError,
)
from modelbay_runtime.solution_bundle import NodeInterface, archive, build_solution_files
from modelbay_runtime.solution_parse import parse_document

from modelbay_onboarding.debris import SOLUTION_BASE
from modelbay_onboarding.service import AcceptedUpload, UploadService
from modelbay_onboarding.settings import OnboardingSettings
from modelbay_onboarding.solutions.check import check_solution
from modelbay_onboarding.solutions.errors import (
    IncompatibleSolution,
    InvalidSolution,
    SolutionNodeNotReady,
    SolutionNodeUnavailable,
)
from modelbay_onboarding.spool import SpooledUpload
from modelbay_onboarding.validation.bundle import ValidatedBundle
from modelbay_onboarding.validation.manifest import Manifest

log = logging.getLogger(__name__)
_NODE_FILES = (MANIFEST, SCHEMAS, DESCRIPTOR_SET)


class SolutionService:
    def __init__(
        self, settings: OnboardingSettings, blobs: BlobStore, uploads: UploadService
    ) -> None:
        self._settings = settings
        self._blobs = blobs
        self._uploads = uploads

    async def accept(
        self,
        sessions: SessionFactory,
        *,
        owner: str,
        name: str,
        caller: Caller,
        submission: SolutionSubmission,
    ) -> AcceptedUpload:
        document = _parsed(submission.document)
        facts = _usable_nodes(document, submission.versions)
        interfaces: dict[str, NodeInterface] = {}
        by_version: dict[str, NodeInterface] = {}  # nodes of one version read its bundle once
        for node_id, node in document.nodes.items():
            known = by_version.get(str(node.model))
            if known is None:
                known = await self._node_interface(node_id, document, facts[node_id])
                by_version[str(node.model)] = known
            interfaces[node_id] = known
        check = check_solution(
            document, {node_id: i.descriptor_set for node_id, i in interfaces.items()}
        )
        if not check.compatible:
            raise IncompatibleSolution(
                check.explain(),
                extensions={
                    "problems": [p.to_dict() for p in check.problems],
                    "connections": [c.to_dict() for c in check.connections if not c.compatible],
                },
            )
        resolved = document.with_resolved(_resolved(document, facts, interfaces))
        python = self._settings.supported_python_versions[0]
        files = build_solution_files(name, resolved, interfaces, python_version=python)
        bundle = ValidatedBundle(
            manifest=Manifest.model_validate(json.loads(files[MANIFEST])),
            requirements=(),
            proto_text=files["model.proto"].decode(),
            descriptor_set=files[DESCRIPTOR_SET],
            schemas=json.loads(files[SCHEMAS]),
        )
        with tempfile.TemporaryDirectory(
            prefix=owned_prefix(SOLUTION_BASE), dir=self._settings.spool_dir
        ) as work:
            upload = _spooled(Path(work) / "solution.tar.gz", archive(files))
            stored_key = await self._uploads.store_bundle(upload)
            async with transaction(sessions) as session:
                accepted = await self._uploads.record_upload(
                    session,
                    owner=owner,
                    name=name,
                    caller=caller,
                    upload=upload,
                    bundle=bundle,
                    stored_key=stored_key,
                )
        log.info("accepted solution %s/%s version %d", owner, name, accepted.version)
        return accepted

    async def _node_interface(
        self, node_id: str, document: SolutionDocument, facts: NodeVersionFacts
    ) -> NodeInterface:
        node = document.nodes[node_id]
        if not facts.bundle_uri:
            raise SolutionNodeUnavailable(
                f"node {node.label()}: the catalog knows no bundle of this version",
                extensions={"node": node_id, "model": str(node.model)},
            )
        with tempfile.TemporaryDirectory(
            prefix=owned_prefix(SOLUTION_BASE), dir=self._settings.spool_dir
        ) as work:
            target = Path(work) / "node.tar.gz"
            try:
                info = await self._blobs.get_to_path(facts.bundle_uri, target)
            except BlobNotFoundError:
                raise SolutionNodeUnavailable(
                    f"node {node.label()}: its bundle is missing from storage",
                    extensions={"node": node_id, "model": str(node.model)},
                ) from None
            if facts.bundle_sha256 and info.sha256 != facts.bundle_sha256:
                raise SolutionNodeUnavailable(
                    f"node {node.label()}: the stored bundle is not the one the catalog recorded",
                    extensions={"node": node_id, "model": str(node.model)},
                )
            found = await asyncio.to_thread(_read_members, target, _NODE_FILES)
        missing = [member for member in _NODE_FILES if member not in found]
        if missing:
            raise SolutionNodeUnavailable(
                f"node {node.label()}: its bundle has no {', '.join(missing)}",
                extensions={"node": node_id, "model": str(node.model)},
            )
        manifest = json.loads(found[MANIFEST])
        return NodeInterface(
            descriptor_set=found[DESCRIPTOR_SET],
            schemas=json.loads(found[SCHEMAS]),
            manifest_methods=manifest.get("methods") or {},
        )


def _parsed(raw: Mapping[str, object]) -> SolutionDocument:
    try:
        return parse_document(raw)
    except SolutionDocumentError as exc:
        raise InvalidSolution(
            "; ".join(f"{where}: {what}" for where, what in exc.problems),
            extensions={"problems": [{"where": w, "message": m} for w, m in exc.problems]},
        ) from None


def _usable_nodes(
    document: SolutionDocument, versions: Mapping[str, NodeVersionFacts]
) -> dict[str, NodeVersionFacts]:
    """Each node's version facts, refusing (naming the first such node) a version the pusher
    may not see or that is not ready."""
    usable: dict[str, NodeVersionFacts] = {}
    for node_id, node in document.nodes.items():
        facts = versions.get(str(node.model))
        extensions = {"node": node_id, "model": str(node.model)}
        if facts is None or not facts.visible:
            raise SolutionNodeUnavailable(
                f"node {node.label()}: no such model version, or you may not see it "
                "(it may be private or deleted)",
                extensions=extensions,
            )
        if facts.status != "ready" or not facts.image_ref:
            why = f": {facts.failure_reason}" if facts.failure_reason else ""
            raise SolutionNodeNotReady(
                f"node {node.label()} is {facts.status!r}, not ready{why}; a solution is made "
                "of ready versions (wait for it, or pick another version)",
                extensions={**extensions, "node_status": facts.status},
            )
        usable[node_id] = facts
    return usable


def _resolved(
    document: SolutionDocument,
    facts: Mapping[str, NodeVersionFacts],
    interfaces: Mapping[str, NodeInterface],
) -> dict[str, ResolvedNode]:
    resolved = {}
    for node_id, node in document.nodes.items():
        method = interfaces[node_id].manifest_methods[node.method]
        resolved[node_id] = ResolvedNode(
            image_ref=str(facts[node_id].image_ref),
            image_digest=facts[node_id].image_digest,
            input_message=str(method["input_message"]),
            output_message=str(method["output_message"]),
            served_url=served_url(facts[node_id].image_ref),
        )
    return resolved


def _read_members(archive_path: Path, wanted: tuple[str, ...]) -> dict[str, bytes]:
    """The `wanted` top-level files of a bundle archive (streamed; stops once all are read)."""
    found: dict[str, bytes] = {}
    with tarfile.open(archive_path, "r|gz") as tar:
        for member in tar:
            if member.isfile() and member.name in wanted:
                extracted = tar.extractfile(member)
                if extracted is not None:
                    found[member.name] = extracted.read()
            if len(found) == len(wanted):
                break
    return found


def _spooled(path: Path, data: bytes) -> SpooledUpload:
    import hashlib

    path.write_bytes(data)
    return SpooledUpload(path=path, size=len(data), sha256=hashlib.sha256(data).hexdigest())
