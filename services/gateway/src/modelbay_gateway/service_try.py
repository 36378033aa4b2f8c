"""Use case "Try it": one call of a ready version's model, run by the builder on request.

The catalog decides first, as the caller, whether the version exists for them (the same 404 as
every read) and is ready; only then does the builder start (or reuse) the version's sandbox and
pass the call (docs/web.md, "Try it"). The model's own answer comes back as it is, its status
included: a 4xx of the model (a field it refuses) is an answer for the person trying, not an
error of the platform.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
from modelbay_common.access import Caller

from modelbay_gateway.errors import ModelNotStarted, TryNotAvailable
from modelbay_gateway.service_models import get_version
from modelbay_gateway.upstream import BUILDER, Upstreams, json_object, model_path

# The largest JSON body a try may send (the builder passes it into the sandbox).
MAX_TRY_BODY_BYTES = 64 * 1024
# Starting a sandbox loads the model (the builder's readiness bound); then one call.
TRY_TIMEOUT_SECONDS = 300.0


@dataclass(frozen=True)
class TryAnswer:
    """The model server's status and body (parsed JSON, or text when it is not JSON)."""

    status: int
    body: Any

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


async def try_method(
    upstreams: Upstreams,
    caller: Caller,
    owner: str,
    name: str,
    version: int,
    method: str,
    payload: bytes,
) -> TryAnswer:
    detail = await get_version(upstreams, caller, owner, name, version)
    if detail.status != "ready":
        raise TryNotAvailable(owner, name, version, f"it is {detail.status}, not ready")
    known = [m.name for m in detail.interface.methods]
    if method not in known:
        raise TryNotAvailable(owner, name, version, f"it has no method {method!r}")
    if len(payload) > MAX_TRY_BODY_BYTES:
        raise TryNotAvailable(owner, name, version, f"the body is over {MAX_TRY_BODY_BYTES} bytes")
    path = f"/internal/try/{model_path(owner, name)}/{version}/{quote(method, safe='')}"
    response = await upstreams.request(
        BUILDER,
        "POST",
        path,
        caller,
        content=payload,
        headers={"Content-Type": "application/json"},
        timeout=TRY_TIMEOUT_SECONDS,
    )
    if response.status_code == 503:
        # The model did not start or answer: its reason is about the model, so it is shown.
        raise ModelNotStarted(owner, name, version, _problem_detail(response))
    answer = json_object(response, BUILDER)
    return TryAnswer(int(answer.get("status", 502)), answer.get("body"))


def _problem_detail(response: httpx.Response) -> str:
    try:
        problem = response.json()
    except ValueError:
        problem = None
    if isinstance(problem, dict) and problem.get("detail"):
        return str(problem["detail"])
    return "the builder could not run it now; try again in a minute."
