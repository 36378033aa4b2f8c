"""Use case of the solution API: gather what the catalog says about each node, as the pusher,
and hand the document with those facts to onboarding, which checks and accepts it.

The gateway does not judge the document (onboarding does, with the runtime's own parser): it
only reads the `owner/name:version` of each node to know which versions to ask about. A node the
catalog will not show the pusher comes back `visible: false`, whatever the reason, so the
refusal cannot reveal a private model.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import re
from collections.abc import Mapping
from typing import Any

import yaml
from modelbay_common.access import Caller
from modelbay_common.contracts.solutions import NodeVersionFacts, SolutionSubmission
from modelbay_common.errors import BadRequest, UnsupportedMediaType

from modelbay_gateway.errors import NotYourNamespace, UpstreamProblem
from modelbay_gateway.records import Principal
from modelbay_gateway.service_models import (
    caller_of,
    check_name_not_deleted,
    get_version,
    version_path,
)
from modelbay_gateway.upstream import ONBOARDING, Upstreams, json_object, model_path

JSON_TYPES = frozenset({"application/json"})
YAML_TYPES = frozenset({"application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml"})
MAX_DOCUMENT_BYTES = 1024 * 1024
_MODEL_REF = re.compile(r"^([^/:\s]+)/([^/:\s]+):([1-9][0-9]{0,8})$")


def parse_solution_body(body: bytes, content_type: str | None) -> dict[str, Any]:
    """The document from a JSON or YAML body; 415 for other media types, 400 if unreadable."""
    media_type = (content_type or "application/json").split(";")[0].strip().lower()
    if media_type not in JSON_TYPES | YAML_TYPES:
        raise UnsupportedMediaType(
            f"Content-Type {media_type!r} is not a solution document; send application/json "
            "or application/yaml"
        )
    try:
        # YAML 1.1 is a superset of JSON: one safe loader reads both.
        document = yaml.safe_load(body.decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise BadRequest(f"the body is not readable {media_type}: {exc}") from None
    if not isinstance(document, dict):
        raise BadRequest("the solution document must be an object (spec, nodes, edges, output)")
    _require_json_values(document)
    return document


def _require_json_values(document: dict[str, Any]) -> None:
    """The document is forwarded to onboarding as JSON: a lone surrogate escape (`"\\ud800"`
    is valid JSON but no UTF-8 text) or a YAML-only value (`!!binary`) cannot be, and was a 500
    (found by the abuse suite's fuzzing)."""
    try:
        json.dumps(document, ensure_ascii=False, allow_nan=False, default=_json_scalar).encode()
    except (TypeError, ValueError, UnicodeEncodeError) as exc:
        raise BadRequest(
            f"the solution document holds a value JSON cannot carry as UTF-8 text ({exc}); "
            "send strings, numbers, booleans, null, lists and objects only"
        ) from None


def _json_scalar(value: object) -> str:
    # YAML's timestamps are sent as ISO 8601 text, as pydantic's JSON mode would send them.
    if isinstance(value, datetime.date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not a JSON value")


def node_versions(document: Mapping[str, Any]) -> list[tuple[str, str, str, int]]:
    """`(ref, owner, name, version)` of every well-formed node model reference; the rest is
    onboarding's to refuse, with the document's other mistakes."""
    nodes = document.get("nodes")
    found: dict[str, tuple[str, str, str, int]] = {}
    if isinstance(nodes, Mapping):
        for entry in nodes.values():
            model = entry.get("model") if isinstance(entry, Mapping) else None
            match = _MODEL_REF.match(model) if isinstance(model, str) else None
            if match is not None:
                found[str(model)] = (str(model), match[1], match[2], int(match[3]))
    return list(found.values())


async def submit_solution(
    upstreams: Upstreams,
    principal: Principal,
    owner: str,
    name: str,
    document: dict[str, Any],
) -> dict[str, Any]:
    if owner != principal.username and not principal.user.is_admin:
        raise NotYourNamespace(owner, principal.username)
    await check_name_not_deleted(upstreams, owner, name)
    caller = caller_of(principal)
    wanted = node_versions(document)
    facts = await asyncio.gather(*(_facts(upstreams, caller, *ref[1:]) for ref in wanted))
    submission = SolutionSubmission(
        document=document, versions={ref[0]: fact for ref, fact in zip(wanted, facts, strict=True)}
    )
    response = await upstreams.request(
        ONBOARDING,
        "POST",
        f"/internal/solutions/{model_path(owner, name)}",
        caller,
        json=submission.model_dump(mode="json"),
    )
    accepted = json_object(response, ONBOARDING)
    version = int(accepted["version"])
    return {
        "owner": str(accepted.get("owner", owner)),
        "name": str(accepted.get("name", name)),
        "version": version,
        "status": str(accepted.get("status", "uploaded")),
        "status_url": version_path(owner, name, version),
    }


async def _facts(
    upstreams: Upstreams, caller: Caller, owner: str, name: str, version: int
) -> NodeVersionFacts:
    try:
        detail = await get_version(upstreams, caller, owner, name, version)
    except UpstreamProblem as problem:
        if problem.status in (400, 404):  # a name the catalog refuses is as unusable as none
            return NodeVersionFacts(owner=owner, name=name, version=version, visible=False)
        raise
    return NodeVersionFacts(
        owner=owner,
        name=name,
        version=version,
        visible=True,
        status=detail.status,
        failure_reason=detail.failure.reason if detail.failure is not None else None,
        image_ref=detail.image.ref if detail.image is not None else None,
        image_digest=detail.image.digest if detail.image is not None else None,
        bundle_uri=detail.bundle.uri if detail.bundle is not None else None,
        bundle_sha256=detail.bundle.sha256 if detail.bundle is not None else None,
    )
