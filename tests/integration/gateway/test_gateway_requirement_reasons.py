"""Why each requirement was inferred, from the bundle's manifest to the model page: onboarding
puts the manifest's `requirement_reasons` in ModelUploaded, the catalog stores them, `/v1`
answers them in the `VersionOut` contract and the page lists them next to each requirement,
escaped (real Postgres; catalog, onboarding and gateway in process)."""

from __future__ import annotations

from typing import Any

import pytest
from gateway_stack import Stack
from modelbay_gateway.schemas import VersionOut
from onboarding_bundles import archive, edit_manifest, make_bundle_dir
from test_gateway_web import browser, sign_in


@pytest.fixture(scope="module")
def reasoned_archive(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    bundle_dir = make_bundle_dir(tmp_path_factory.mktemp("reasons") / "imager")

    def add_requirements(manifest: dict[str, Any]) -> None:
        manifest["requirements"] = ["Pillow==10.4.0", "requests==2.32.3"]
        # What the SDK writes for a traced object and for a requirement the contributor listed;
        # the markup stands for any text a contributor controls.
        manifest["requirement_reasons"] = {
            "pillow": ["traced object PIL.Image.Image", "<b>hand-edited</b>"],
            "requests": ["user request"],
        }

    edit_manifest(bundle_dir, add_requirements)
    return archive(bundle_dir, bundle_dir.parent / "imager.tar.gz").read_bytes()


async def test_the_page_shows_why_each_requirement_was_inferred(
    stack: Stack, reasoned_archive: bytes
) -> None:
    token = await stack.new_user("reasoner")
    assert (await stack.push(token, "reasoner", "imager", reasoned_archive)).status_code == 202
    await stack.wait_for_version(token, "reasoner", "imager", 1)

    async with stack.client(token) as client:
        response = await client.get("/v1/models/reasoner/imager/versions/1")
    assert response.status_code == 200, response.text
    body = response.json()
    assert VersionOut.model_validate(body).model_dump(mode="json") == body
    assert body["requirement_reasons"] == [
        {
            "requirement": "Pillow==10.4.0",
            "reasons": ["traced object PIL.Image.Image", "<b>hand-edited</b>"],
        },
        {"requirement": "requests==2.32.3", "reasons": ["declared"]},
    ]

    async with browser(stack) as client:
        await sign_in(client, "reasoner", token)
        page = await client.get("/models/reasoner/imager")
    assert page.status_code == 200
    assert (
        "<code>Pillow==10.4.0</code> — traced object PIL.Image.Image; "
        "&lt;b&gt;hand-edited&lt;/b&gt;" in page.text
    )
    assert "<code>requests==2.32.3</code> — declared" in page.text
    assert "<b>hand-edited</b>" not in page.text
