"""A version's Debian packages through the gateway: `/v1` answers them in the `VersionOut`
contract, and the model page lists them in its requirements section (real Postgres; catalog,
onboarding and gateway in process; the resolver is played by its DependenciesResolved)."""

from __future__ import annotations

from gateway_stack import Stack
from modelbay_common.blob import keys
from modelbay_common.events import DependenciesResolved, SystemPackage, envelope
from modelbay_gateway.schemas import VersionOut
from test_gateway_web import browser, sign_in


async def test_the_version_and_its_page_show_the_system_packages(
    stack: Stack, archive_bytes: bytes
) -> None:
    token = await stack.new_user("debowner")
    assert (await stack.push(token, "debowner", "gbm", archive_bytes)).status_code == 202
    uploaded = await stack.wait_for_version(token, "debowner", "gbm", 1)
    assert uploaded["system_packages"] == []
    sha = uploaded["bundle"]["sha256"]
    resolution = DependenciesResolved(
        owner="debowner",
        name="gbm",
        version=1,
        bundle_uri=keys.bundle_key(sha),
        bundle_sha256=sha,
        python_version="3.11",
        lock=("lightgbm==4.5.0",),
        lock_hash=sha,
        wheelhouse_uri=keys.wheelhouse_key(sha),
        system_packages=(
            SystemPackage(
                name="libgomp1", version="12.2.0-14", reasons=("libgomp.so.1 for lightgbm",)
            ),
            SystemPackage(
                name="libc6", version="2.36-9", reasons=("dependency of libgomp1",), fetched=False
            ),
        ),
    )
    await stack.bus.publish(envelope(resolution, source="/modelbay/tests"))
    await stack.bus.drain()

    async with stack.client(token) as client:
        response = await client.get("/v1/models/debowner/gbm/versions/1")
    assert response.status_code == 200, response.text
    body = response.json()
    # The answer is exactly the public contract's document (the catalog's VersionDetail and the
    # gateway's links): no field the contract lacks, none lost.
    assert VersionOut.model_validate(body).model_dump(mode="json") == body
    assert body["system_packages"] == [
        {
            "name": "libgomp1",
            "version": "12.2.0-14",
            "reasons": ["libgomp.so.1 for lightgbm"],
            "fetched": True,
        },
        {
            "name": "libc6",
            "version": "2.36-9",
            "reasons": ["dependency of libgomp1"],
            "fetched": False,
        },
    ]

    async with browser(stack) as client:
        await sign_in(client, "debowner", token)
        page = await client.get("/models/debowner/gbm")
    assert page.status_code == 200
    assert "System packages" in page.text
    assert "<code>libgomp1 12.2.0-14</code> — libgomp.so.1 for lightgbm" in page.text
    assert "<code>libc6 2.36-9</code> — dependency of libgomp1 (in the base image)" in page.text
