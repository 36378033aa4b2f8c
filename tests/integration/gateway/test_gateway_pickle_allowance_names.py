"""Found by the abuse suite's fuzzing: `DELETE /v1/admin/models/{o}/{n}/pickle-allowances/{g}`
with a control character in the global's name built an invalid URL towards onboarding
and was a 500. The name must now be spelled as the scan reports globals (422 otherwise), and a
well-formed one that was never allowed is a 404, both problem+json."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from gateway_stack import ADMIN_TOKEN, Stack

PATH = "/v1/admin/models/mallory/adder/pickle-allowances/"


@pytest.mark.parametrize("global_name", ["\r\x16Z<", "\x1aZ<", "eval\x00", "no dot"])
async def test_a_malformed_global_name_is_422(stack: Stack, global_name: str) -> None:
    async with stack.client(ADMIN_TOKEN) as admin:
        response = await admin.delete(PATH + quote(global_name, safe=""))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"


async def test_a_global_never_allowed_is_404(stack: Stack) -> None:
    async with stack.client(ADMIN_TOKEN) as admin:
        response = await admin.delete(PATH + "builtins.eval")
    assert response.status_code == 404, response.text
    assert response.headers["content-type"] == "application/problem+json"
