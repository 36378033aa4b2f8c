"""Abuse suite (issue 11): schemathesis against the gateway's `/v1` OpenAPI, authenticated.

The stack is this tier's (four service processes on the real Postgres, RabbitMQ, S3, registry
and Docker engine), so an answer the gateway relays from onboarding, the catalog or the builder
is judged too. Every generated request — valid and invalid by the schema — must be answered
below 500, and every 4xx as RFC 9457 problem+json. Cases are sent as the administrator (the
widest view) and as an ordinary user; neither token may appear in any service's log.
`MODELBAY_FUZZ_EXAMPLES` raises the bound (`make fuzz`).
"""

from __future__ import annotations

import asyncio

from e2e_client import Gateway
from e2e_stack import Stack
from schema_fuzz import FuzzReport, examples_per_operation, fuzz, load_schema

EXAMPLES_PER_OPERATION = 3  # per mode and caller: a few hundred cases over ~70 operations

# A stream that never ends on its own (Server-Sent Events): nothing to judge per request.
NOT_FUZZED = {("GET", "/v1/events")}


def _skip(method: str, path: str) -> bool:
    return (method, path) in NOT_FUZZED


def _run(stack: Stack, token: str) -> FuzzReport:
    headers = {"Authorization": f"Bearer {token}"}
    schema = load_schema(stack.gateway_url + "/v1/openapi.json", headers)
    return fuzz(
        schema,
        stack.gateway_url,
        headers,
        max_examples=examples_per_operation(EXAMPLES_PER_OPERATION),
        skip=_skip,
    )


async def test_gateway_answers_every_generated_request_below_500(
    stack: Stack, alice: Gateway
) -> None:
    reports = {
        "admin": await asyncio.to_thread(_run, stack, stack.admin_token),
        "user": await asyncio.to_thread(_run, stack, alice.token),
    }
    for caller, report in reports.items():
        print(f"{caller}: {report.summary()}")  # the figures for docs/reliability.md (pytest -s)
    logs = "\n".join(
        [
            await asyncio.to_thread(process.log_path.read_text, errors="replace")
            for process in stack.processes.values()
        ]
    )
    for token in (stack.admin_token, alice.token):
        assert token not in logs, "an API token was written to a service log"
    for caller, report in reports.items():
        assert report.cases > 0
        assert not report.server_errors, f"as {caller}: {report.summary()}"
        assert not report.not_problem_json, f"as {caller}: {report.summary()}"
