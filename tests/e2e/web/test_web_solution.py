"""A solution edited on the web, in a real browser (Debian's chromium) on the real stack.

A model (`doubler`) is pushed and built by the pipeline, a one-node solution over it pushed
through `/v1`; its owner opens the model page (a `solution` chip, its node linked), edits the
document in the textarea: a wrong value is refused next to the textarea naming where it is, and
nothing is stored; the corrected document becomes the next version: the user lands on its
page (through the "recording" page while the catalog records it), which follows its build.
Screenshots go to var/screenshots/ (docs/ui/solution-edit-refused.png is kept).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from e2e_client import Gateway, describe_failure, explain, new_user
from e2e_models import dump_model, push_bundle
from playwright.async_api import Browser, expect
from web_pages import shoot, signed_in_page

pytestmark = pytest.mark.timeout(1800)
# The recording page gives up after two minutes; a busy test machine needs seconds, not that.
RECORDING_WAIT_MS = 120_000


async def test_a_solution_is_edited_on_its_page_into_a_new_version(
    browser: Browser, admin: Gateway, tmp_path: Path, screenshots: Path
) -> None:
    async with await new_user(admin, "sol") as owner:
        user = owner.username
        bundle = await dump_model("doubler", "doubler", tmp_path / "doubler")
        pushed = await push_bundle(owner, bundle, f"{user}/doubler")
        detail = await owner.follow(user, "doubler", pushed.version)
        assert detail["status"] == "ready", describe_failure(detail)
        model = f"{user}/doubler:{pushed.version}"
        document = {
            "spec": "1",
            "method": "double",
            "nodes": {"twice": {"model": model, "method": "double"}},
            "edges": [{"from": "$input", "to": "twice"}],
            "output": "twice",
        }
        solution = await owner.http.post(f"/v1/solutions/{user}/twice/versions", json=document)
        assert solution.status_code == 202, explain(solution)
        await owner.follow(user, "twice", 1, bound=60)  # recorded; its build may still run

        page = await signed_in_page(browser, owner)
        await page.goto(f"/models/{user}/twice")
        await expect(page.locator(".model-header .kind-solution")).to_have_text("solution")
        node_link = page.get_by_role("link", name=model)
        await expect(node_link).to_have_attribute("href", f"/models/{user}/doubler?version=1")
        await shoot(page, screenshots, "solution-model-page")

        await page.get_by_role("link", name="Edit as a new version").click()
        textarea = page.get_by_label("Solution document")
        await expect(textarea).to_have_value("spec: '1'\nkind: solution\n" + _rest(model))
        await textarea.fill(_edited(model, retries="9"))
        await page.get_by_role("button", name="Push as a new version").click()
        refusal = page.locator("#refusal")
        await expect(refusal).to_contain_text("nodes.twice.retries")
        await expect(refusal).to_contain_text("must be a whole number from 0 to 5")
        await expect(textarea).to_have_attribute("aria-invalid", "true")
        await expect(textarea).to_have_value(_edited(model, retries="9"))  # kept as typed
        await shoot(page, screenshots, "solution-edit-refused")
        assert (await owner.version(user, "twice", 2)).status_code == 404  # nothing stored

        await textarea.fill(_edited(model, retries="2"))
        await page.get_by_role("button", name="Push as a new version").click()
        # Onboarding accepted it (202); the catalog records the version from its event a moment
        # later. The editor sends the user to `.../versions/2/recording`, which goes on to the
        # version's page once it is recorded (reloading itself until then): the user lands there.
        await expect(page).to_have_url(
            f"{owner.url}/models/{user}/twice/versions/2", timeout=RECORDING_WAIT_MS
        )
        await expect(page.get_by_role("heading", level=1)).to_contain_text("v2")
        await expect(page.locator(".stages")).to_be_visible()  # the pipeline, not the 404 page
        stored = await owner.http.get(f"/v1/solutions/{user}/twice/versions/2/document")
        assert stored.status_code == 200, explain(stored)  # recorded: no waiting here
        assert stored.json()["nodes"]["twice"]["retries"] == 2
        await page.context.close()


def _rest(model: str) -> str:
    return (
        "method: double\n"
        f"nodes:\n  twice:\n    model: {model}\n    method: double\n"
        "edges:\n- from: $input\n  to: twice\n"
        "output: twice\n"
    )


def _edited(model: str, *, retries: str) -> str:
    return "spec: '1'\nkind: solution\n" + _rest(model).replace(
        "    method: double\n", f"    method: double\n    retries: {retries}\n"
    )
