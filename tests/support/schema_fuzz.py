"""Fuzz a running HTTP service from its own OpenAPI with schemathesis, and judge the answers.

The abuse suite's rule (issue 11): no answer is ever >= 500, and every 4xx is RFC 9457
problem+json. `fuzz()` drives schemathesis' Hypothesis strategies operation by operation (a
bounded number of cases each), sends every case over real HTTP, and returns what it saw; the
test asserts on the report, which lists each offending case with a curl line to reproduce it.

How many cases: `MODELBAY_FUZZ_EXAMPLES` per operation when set (`make fuzz` sets it high),
else the caller's bound (`make test` keeps it small).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis.generation.modes import GenerationMode

PROBLEM_JSON = "application/problem+json"
EXAMPLES_ENV = "MODELBAY_FUZZ_EXAMPLES"
REQUEST_TIMEOUT_SECONDS = 60.0  # a guard against a hung request, not a speed assertion


@dataclass
class Offence:
    operation: str
    status: int
    why: str
    reproduce: str
    body: str


@dataclass
class FuzzReport:
    operations: int = 0
    cases: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    server_errors: list[Offence] = field(default_factory=list)
    not_problem_json: list[Offence] = field(default_factory=list)

    def summary(self) -> str:
        lines = [
            f"{self.cases} cases over {self.operations} operations; statuses {self.statuses}",
            *(
                f"  5xx {o.status} {o.operation}: {o.reproduce}\n    {o.body}"
                for o in self.server_errors
            ),
            *(
                f"  4xx not problem+json {o.status} {o.operation}: {o.why}\n    {o.reproduce}"
                for o in self.not_problem_json
            ),
        ]
        return "\n".join(lines)


def examples_per_operation(default: int) -> int:
    configured = os.environ.get(EXAMPLES_ENV)
    return int(configured) if configured else default


# Bundle uploads and downloads are archives: sent as raw bytes, like application/octet-stream.
BINARY_MEDIA_TYPES = (
    "application/gzip",
    "application/x-gzip",
    "application/x-tar",
    "application/zip",
)


def load_schema(openapi_url: str, headers: Mapping[str, str]) -> Any:
    from schemathesis.transport.requests import REQUESTS_TRANSPORT, binary_serializer

    REQUESTS_TRANSPORT.serializer(*BINARY_MEDIA_TYPES)(binary_serializer)  # idempotent
    return schemathesis.openapi.from_url(openapi_url, headers=dict(headers), timeout=60)


def fuzz(
    schema: Any,
    base_url: str,
    headers: Mapping[str, str],
    *,
    max_examples: int,
    skip: Callable[[str, str], bool] = lambda method, path: False,
) -> FuzzReport:
    """Every operation of `schema` not skipped, `max_examples` generated cases each, sent to
    `base_url` with `headers` (the caller's credentials) added to what schemathesis generated."""
    report = FuzzReport()
    session = requests.Session()
    for result in schema.get_all_operations():
        operation = result.ok()
        if skip(operation.method.upper(), operation.path):
            continue
        report.operations += 1
        # Data that fits the schema, then data that does not (the 4xx paths).
        modes = [GenerationMode.POSITIVE]
        if _has_inputs(operation):  # nothing to make invalid otherwise
            modes.append(GenerationMode.NEGATIVE)
        for mode in modes:
            strategy = operation.as_strategy(generation_mode=mode)
            _fuzz_operation(operation, strategy, base_url, headers, max_examples, session, report)
    session.close()
    return report


def _has_inputs(operation: Any) -> bool:
    parts = ("path_parameters", "query", "headers", "cookies", "body")
    return any(list(getattr(operation, part, ())) for part in parts)


def _fuzz_operation(
    operation: Any,
    strategy: Any,
    base_url: str,
    headers: Mapping[str, str],
    max_examples: int,
    session: requests.Session,
    report: FuzzReport,
) -> None:
    label = f"{operation.method.upper()} {operation.path}"

    @settings(
        max_examples=max_examples,
        deadline=None,
        database=None,  # no .hypothesis directory in the checkout
        phases=[Phase.explicit, Phase.generate],  # no shrinking: every case is reported as sent
        suppress_health_check=list(HealthCheck),
        # The bounded form in `make test` sends the same cases every run, so CI cannot turn red
        # on a lucky draw; the long form (`make fuzz`, EXAMPLES_ENV set) explores afresh.
        derandomize=EXAMPLES_ENV not in os.environ,
    )
    @given(case=strategy, _=st.just(None))
    def send(case: Any, _: None) -> None:
        case.headers = {**(case.headers or {}), **headers}
        response = case.call(base_url=base_url, session=session, timeout=REQUEST_TIMEOUT_SECONDS)
        report.cases += 1
        status = response.status_code
        report.statuses[status] = report.statuses.get(status, 0) + 1
        if status >= 500:
            report.server_errors.append(_offence(label, case, response, "server error"))
        elif status >= 400:
            why = _not_a_problem(response)
            if why:
                report.not_problem_json.append(_offence(label, case, response, why))

    # Negative mode on an operation without inputs: nothing can be made invalid.
    with contextlib.suppress(Unsatisfiable):
        send()


def _not_a_problem(response: Any) -> str | None:
    # schemathesis' responses carry lowercase header names with lists of values.
    values = response.headers.get("content-type") or [""]
    media_type = values[0].split(";")[0].strip()
    if media_type != PROBLEM_JSON:
        return f"content-type {media_type!r}"
    try:
        body = response.json()
    except ValueError:
        return "body is not JSON"
    if not isinstance(body, dict) or not {"type", "title", "status"} <= body.keys():
        return "body lacks type/title/status"
    if body["status"] != response.status_code:
        return f"status member {body['status']} != {response.status_code}"
    return None


def _offence(label: str, case: Any, response: Any, why: str) -> Offence:
    try:
        reproduce = case.as_curl_command()
    except Exception as exc:  # a reproduction line must never hide the finding
        reproduce = f"(no curl line: {exc})"
    return Offence(label, response.status_code, why, reproduce, response.text[:400])
