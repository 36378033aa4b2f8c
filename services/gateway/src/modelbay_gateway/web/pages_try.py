""" "Try it" on the model page: a method's form, sent (htmx) to the model and answered in place.

The POST checks its CSRF token, reads the form into the method's JSON input (`try_it.py`), and
calls `service_try.try_method`, the function behind `POST /v1/.../try/{method}`, as the visitor:
the catalog decides visibility first, then the builder runs the version in a sandbox (docs/web.md,
"Try it"). The answer, or the model's refusal in words, replaces the form's box. Without
JavaScript the same box comes back as a page of its own.
"""

# No `from __future__ import annotations`: FastAPI must see the Annotated aliases.
import json
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from modelbay_common.api_params import INT32_MAX
from modelbay_common.errors import ModelbayError

from modelbay_gateway.errors import UpstreamProblem
from modelbay_gateway.service_try import try_method
from modelbay_gateway.web.catalog_answers import get_version
from modelbay_gateway.web.errors import NOT_FOUND_TITLE, HtmlErrorRoute, error_page, signin_redirect
from modelbay_gateway.web.session import CSRF_FIELD, CurrentVisitor, check_csrf
from modelbay_gateway.web.state import State, is_htmx
from modelbay_gateway.web.try_it import answer_table, problem_message, read_try_form, try_fields

router = APIRouter(route_class=HtmlErrorRoute, include_in_schema=False)

VersionNumber = Annotated[int, Path(ge=1, le=INT32_MAX)]
MAX_FORM_FIELDS = 200
MAX_FORM_PART_BYTES = 64 * 1024


@router.post("/models/{owner}/{name}/versions/{version}/try/{method}")
async def try_submit(
    request: Request,
    state: State,
    visitor: CurrentVisitor,
    owner: str,
    name: str,
    version: VersionNumber,
    method: Annotated[str, Path(max_length=100)],
) -> Response:
    raw = await request.form(max_fields=MAX_FORM_FIELDS, max_part_size=MAX_FORM_PART_BYTES)
    form = {key: value for key, value in raw.items() if isinstance(value, str)}
    check_csrf(visitor, form.get(CSRF_FIELD))  # first: a forged form learns nothing
    if visitor.principal is None:
        return signin_redirect(request)
    upstreams, caller = state.context.upstreams, visitor.caller
    detail = await get_version(upstreams, caller, owner, name, version)
    found = [m for m in detail["interface"]["methods"] if m["name"] == method]
    if not found:
        return await _page(request, state, 404, {"visitor": visitor})
    fields = try_fields(found[0])
    payload, errors = read_try_form(fields, form)
    values: dict[str, Any] = {
        "visitor": visitor,
        "owner": owner,
        "name": name,
        "shown": version,
        "method": found[0],
        "fields": fields,
        "form": form,
        "errors": errors,
    }
    status = 422 if errors else 200
    if not errors:
        values |= await _call(state, visitor, owner, name, version, method, payload)
        status = 200 if values.get("answer") is not None else 422
    values["sent"] = json.dumps(payload, indent=2, ensure_ascii=False)
    return await _page(request, state, status, values)


async def _call(
    state: State,
    visitor: CurrentVisitor,
    owner: str,
    name: str,
    version: int,
    method: str,
    payload: dict[str, Any],
) -> dict[str, Any]:
    """The model's answer (`answer`, `table`) or why there is none (`failure`)."""
    body = json.dumps(payload).encode()
    upstreams, caller = state.context.upstreams, visitor.caller
    try:
        answer = await try_method(upstreams, caller, owner, name, version, method, body)
    except UpstreamProblem as exc:
        return {"failure": problem_message(exc.problem)}
    except ModelbayError as exc:
        if exc.status == 404:
            raise
        return {"failure": f"{exc.title}: {exc.detail}" if exc.detail else exc.title}
    if not answer.ok:
        return {"failure": problem_message(answer.body), "refused": answer.body}
    raw = json.dumps(answer.body, indent=2, ensure_ascii=False)
    return {"answer": answer.body, "raw": raw, "table": answer_table(answer.body)}


async def _page(request: Request, state: State, status: int, values: dict[str, Any]) -> Response:
    if status == 404:
        return await error_page(request, 404, NOT_FOUND_TITLE, None)
    if is_htmx(request):
        # htmx swaps 2xx answers only: the box with its errors or the model's refusal is still
        # what the person must see, so it comes as 200 with the status in a header.
        response = state.templates.TemplateResponse(request, "_try.html", values)
        response.headers["X-Modelbay-Try-Status"] = str(status)
        return response
    return state.templates.TemplateResponse(request, "try.html", values, status_code=status)
