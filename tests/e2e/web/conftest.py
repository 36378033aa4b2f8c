"""Browser fixtures: Playwright for Python driving Debian's `chromium` package.

The browser is the system's (`/usr/bin/chromium`, installed by scripts/bootstrap.sh); nothing
is downloaded (`playwright install` is never run). A missing browser fails the session naming
the package, never skips. Each test gets fresh browser contexts (cookies), one per user.

The web tests share one model, pushed once per session by `wendy-…` (a build takes minutes on
these machines): `pushed` (not waited for: the first test watches its pipeline live), `ready`,
`published` (public, with the hostile card). `victor-…` is the other user. Wendy's namespace is
the stack's one reviewed namespace (the catalog's PUBLISH_APPROVAL_OWNERS): making her model
public is a publish request a publisher decides (test_web_ui_reviews.py does it in the browser).
"""

from __future__ import annotations

import os
import random
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from e2e_client import Gateway, describe_failure, explain, new_user
from e2e_models import dump_model, push_bundle
from playwright.async_api import Browser, async_playwright
from web_pages import HOSTILE_CARD, PushedModel

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[3] / "var" / "screenshots"


@pytest.fixture(scope="session")
def chromium() -> Path:
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: install Debian's chromium (scripts/bootstrap.sh does).",
            pytrace=False,
        )
    return CHROMIUM


@pytest.fixture(scope="session")
async def browser(chromium: Path) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        # --no-sandbox: these machines run tests as root, where Chromium's sandbox cannot start.
        launched = await playwright.chromium.launch(
            executable_path=str(chromium),
            args=["--no-sandbox"],
            headless=os.environ.get("MODELBAY_E2E_HEADED") != "1",
        )
        yield launched
        await launched.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@pytest.fixture(scope="session")
async def wendy(admin: Gateway, reviewed_owner: str) -> AsyncIterator[Gateway]:
    """The contributor: the stack's reviewed namespace (tests/e2e/conftest.py), so her
    publications to `public` wait for a publisher."""
    created = await admin.http.post("/v1/users", json={"username": reviewed_owner})
    assert created.status_code == 201, explain(created)
    async with Gateway(admin.url, created.json()["token"]["token"], reviewed_owner) as gateway:
        yield gateway


@pytest.fixture(scope="session")
async def victor(admin: Gateway) -> AsyncIterator[Gateway]:
    async with await new_user(admin, "victor") as gateway:
        yield gateway


@pytest.fixture(scope="session")
async def pushed(wendy: Gateway, tmp_path_factory: pytest.TempPathFactory) -> PushedModel:
    """Pushed, not waited for: the first test watches the pipeline run in the page."""
    name = "iris_web"
    bundle = await dump_model("iris_described", name, tmp_path_factory.mktemp("web") / name)
    result = await push_bundle(wendy, bundle, f"{wendy.username}/{name}")
    # Consonants only, so English stemming keeps the word as it is; the last two differ, so
    # swapping them is a typo.
    word = "flower" + "".join(random.sample("bcdfghjkmnpqrtvwxz", k=8))
    return PushedModel(wendy, name, result.version, word)


@pytest.fixture(scope="session")
async def ready(pushed: PushedModel) -> PushedModel:
    detail = await pushed.owner.follow(pushed.owner.username, pushed.name, pushed.version)
    assert detail["status"] == "ready", describe_failure(detail)
    return pushed


@pytest.fixture(scope="session")
async def published(ready: PushedModel, admin: Gateway) -> PushedModel:
    """Public: wendy's request (filed by the publish-form test, or here through the API when
    that test did not run before) approved by the administrator through the API."""
    owner = ready.owner
    found = await owner.http.get(f"/v1/models/{owner.username}/{ready.name}")
    if found.json().get("visibility") != "public":
        request_id = await pending_request(admin, ready)
        if request_id is None:
            answer = await owner.publish(
                owner.username,
                ready.name,
                visibility="public",
                description=HOSTILE_CARD.format(word=ready.word),
                category="classification",
                license="MIT",
            )
            assert answer.status_code == 202, explain(answer)
            request_id = int(answer.json()["id"])
        approved = await admin.http.post(f"/v1/publish-requests/{request_id}/approve", json={})
        assert approved.status_code == 200, explain(approved)
    return ready


async def pending_request(publisher: Gateway, model: PushedModel) -> int | None:
    """The id of the model's pending publish request, if one waits."""
    wanted = {"status": "pending", "owner": model.owner.username, "name": model.name}
    listed = await publisher.http.get("/v1/publish-requests", params=wanted)
    assert listed.status_code == 200, explain(listed)
    items = listed.json()["items"]
    return int(items[0]["id"]) if items else None
