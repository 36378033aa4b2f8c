"""The web UI's organisation, alias, review-queue and "Try it" pages over HTTP, on the gateway
with the real catalog and onboarding (Postgres; the catalog requires approval of public
publications). The builder is not part of this stack, so "Try it" shows why the model did not
answer; the browser test (tests/e2e/web/) calls a real built model."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from gateway_curation import PUBLISH, grant_publisher, ready_model, reviewing_stack
from gateway_stack import Stack
from modelbay_embedded.inprocess import InProcessTransport

stack = reviewing_stack(publish_approval="required")


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no CSRF field"
    return found.group(1)


@asynccontextmanager
async def browser_of(stack: Stack, username: str, token: str) -> AsyncIterator[httpx.AsyncClient]:
    """A signed-in, cookie-keeping client without a bearer token, like a browser."""
    async with httpx.AsyncClient(
        transport=InProcessTransport(stack.gateway_app),
        base_url="http://gateway",
        timeout=60,
        follow_redirects=False,
    ) as client:
        form = await client.get("/signin")
        signed_in = await client.post(
            "/signin",
            data={"csrf_token": csrf_of(form.text), "username": username, "token": token},
        )
        assert signed_in.status_code == 303, signed_in.text
        yield client


async def post_form(
    client: httpx.AsyncClient, page: str, action: str, data: dict[str, str]
) -> httpx.Response:
    """Send a form of `page` with the page's CSRF token, as the browser would."""
    shown = await client.get(page)
    assert shown.status_code == 200, shown.text
    return await client.post(action, data={"csrf_token": csrf_of(shown.text), **data})


async def test_organisation_page_members_and_roles(stack: Stack) -> None:
    owner, reader = await stack.new_user("orwen"), await stack.new_user("rita")
    await stack.new_user("mark")
    outsider = await stack.new_user("olly")
    async with browser_of(stack, "orwen", owner) as web:
        bad = await post_form(web, "/orgs", "/orgs", {"name": "Not A Name"})
        assert bad.status_code == 422
        assert 'id="name-error"' in bad.text
        created = await post_form(web, "/orgs", "/orgs", {"name": "aviary"})
        assert (created.status_code, created.headers["location"]) == (303, "/orgs/aviary")
        page = "/orgs/aviary"
        unknown = await post_form(
            web, page, f"{page}/members", {"username": "nobody"} | {"role": "reader"}
        )
        assert unknown.status_code == 422
        assert 'id="username-error"' in unknown.text
        for username, role in (("rita", "reader"), ("mark", "reader"), ("mark", "maintainer")):
            added = await post_form(
                web, page, f"{page}/members", {"username": username, "role": role}
            )
            assert added.status_code == 303, added.text
        shown = (await web.get(page)).text
        assert "Add a member" in shown
        assert re.search(r'id="role-mark".*?<option value="maintainer"\s+selected', shown, re.S)
        last = await post_form(
            web, page, f"{page}/members", {"username": "orwen", "role": "reader"}
        )
        assert last.status_code == 422
        assert "last owner" in last.text
        removed = await post_form(web, page, f"{page}/members/mark/delete", {})
        assert removed.status_code == 303
        assert "role-mark" not in (await web.get(page)).text
    async with browser_of(stack, "rita", reader) as web:
        shown = await web.get("/orgs/aviary")
        assert shown.status_code == 200
        assert "Add a member" not in shown.text
        refused = await post_form(
            web, "/orgs/aviary", "/orgs/aviary/members", {"username": "olly", "role": "owner"}
        )
        assert refused.status_code == 403
    async with browser_of(stack, "olly", outsider) as web:
        assert (await web.get("/orgs/aviary")).status_code == 404


async def test_aliases_on_the_model_page(stack: Stack, archive_bytes: bytes) -> None:
    owner, other = await stack.new_user("alma"), await stack.new_user("otto")
    version = await ready_model(stack, owner, "alma", "finches", archive_bytes)
    page = "/models/alma/finches"
    async with browser_of(stack, "alma", owner) as web:
        shown = (await web.get(page)).text
        assert "<code>@latest</code> → <a" in shown
        assert 'action="/models/alma/finches/aliases"' in shown
        bad = await post_form(web, page, f"{page}/aliases", {"alias": "9lives", "version": "1"})
        assert bad.status_code == 422
        assert 'id="alias_name-error"' in bad.text
        moved = await post_form(web, page, f"{page}/aliases", {"alias": "@stable", "version": "1"})
        assert (moved.status_code, moved.headers["location"]) == (303, f"{page}#aliases")
        assert "<code>@stable</code> → <a" in (await web.get(page)).text
        async with stack.client(owner) as api:
            found = await api.get("/v1/models/alma/finches/aliases/stable")
        assert found.json()["version"] == version
        removed = await post_form(web, page, f"{page}/aliases/stable/delete", {})
        assert removed.status_code == 303
        assert "<code>@stable</code> → <a" not in (await web.get(page)).text
        # Published so that another user sees the page (a request, approval is required).
        async with stack.client(owner) as api:
            await api.post("/v1/models/alma/finches/publish", json={**PUBLISH, "visibility": "org"})
    async with browser_of(stack, "otto", other) as web:
        assert (await web.get(page)).status_code == 404  # org model of another organisation


async def test_review_queue_explains_own_requests_and_decides_others(
    stack: Stack, archive_bytes: bytes
) -> None:
    pia, pete = await stack.new_user("pia"), await stack.new_user("pete")
    await grant_publisher(stack, "pia")
    await grant_publisher(stack, "pete")
    version = await ready_model(stack, pia, "pia", "owls", archive_bytes)
    publish_page = "/models/pia/owls/publish"
    async with browser_of(stack, "pia", pia) as web:
        form = {**PUBLISH, "visibility": "public", "version": str(version), "tags": "birds"}
        asked = await post_form(web, publish_page, publish_page, form)
        assert asked.status_code == 303
        assert "?requested=" in asked.headers["location"]
        assert "waits for a publisher" in (await web.get(asked.headers["location"])).text
        waiting = (await web.get("/models/pia/owls")).text
        assert re.search(r'id="publication".*?waiting for review since', waiting, re.S)
        queue = (await web.get("/reviews")).text
        assert "pia/owls" in queue
        assert "You asked for this publication" in queue
        assert "/approve" not in queue
        request_id = re.search(r'id="request-(\d+)"', queue)
        assert request_id
        forged = await post_form(web, "/reviews", f"/reviews/{request_id.group(1)}/approve", {})
        assert forged.status_code == 403  # the catalog refuses it even when posted by hand
        assert "decide" in forged.text.lower() or "own" in forged.text.lower()
    number = request_id.group(1)
    bob = await stack.new_user("bob")
    async with browser_of(stack, "bob", bob) as web:  # not a publisher: still the one 404
        assert (await web.get("/models/pia/owls")).status_code == 404
    async with browser_of(stack, "pete", pete) as web:
        # A publisher reads the private model while its request waits (access.py, under_review).
        reviewing = await web.get("/models/pia/owls?version=1")
        assert reviewing.status_code == 200, reviewing.text
        assert "private" in reviewing.text
        assert 'href="/models/pia/owls/publish"' not in reviewing.text  # reads, not changes
        assert 'id="publication"' not in reviewing.text  # the queue is where publishers read it
        queue = (await web.get("/reviews")).text
        assert f'action="/reviews/{number}/approve"' in queue
        silent = await post_form(web, "/reviews", f"/reviews/{number}/decline", {"comment": " "})
        assert silent.status_code == 422
        assert f'id="comment-{number}-error"' in silent.text
        approved = await post_form(
            web, "/reviews", f"/reviews/{number}/approve", {"comment": "Fine"}
        )
        assert (approved.status_code, approved.headers["location"]) == (
            303,
            f"/reviews?decided={number}",
        )
        decided = (await web.get("/reviews?status=approved")).text
        assert "pia/owls" in decided
        assert "Approved by <strong>pete</strong>" in decided
    async with stack.client(pete) as api:
        assert (await api.get("/v1/models/pia/owls")).json()["visibility"] == "public"
    async with browser_of(stack, "pia", pia) as web:
        assert 'id="publication"' not in (await web.get("/models/pia/owls")).text  # approved
        # Public already, she asks to publish the same card again; pete declines it.
        form = {**PUBLISH, "visibility": "public", "version": str(version), "tags": "owls"}
        assert (await post_form(web, publish_page, publish_page, form)).status_code == 303
    async with stack.client(pete) as api:
        mine = {"owner": "pia", "name": "owls"}
        again = (await api.get("/v1/publish-requests", params=mine)).json()["items"]
        declined = await api.post(
            f"/v1/publish-requests/{again[0]['id']}/decline", json={"comment": "Tag <b>owls</b>"}
        )
        assert declined.status_code == 200, declined.text
    async with browser_of(stack, "pia", pia) as web:
        shown = (await web.get("/models/pia/owls")).text
        notice = re.search(
            r'<div class="publication-declined" id="publication".*?</div>', shown, re.S
        )
        assert notice, "the owner does not see the decline on the model page"
        assert "declined by <strong>pete</strong>" in notice.group(0)
        assert "Tag &lt;b&gt;owls&lt;/b&gt;" in notice.group(0)  # the comment, inert
    async with browser_of(stack, "bob", bob) as web:  # the model is public: bob reads it
        shown = await web.get("/models/pia/owls")
        assert shown.status_code == 200
        assert 'id="publication"' not in shown.text


async def test_try_it_form_and_the_reason_when_the_model_cannot_run(
    stack: Stack, archive_bytes: bytes
) -> None:
    token = await stack.new_user("tess")
    version = await ready_model(stack, token, "tess", "wrens", archive_bytes)
    page = "/models/tess/wrens"
    async with browser_of(stack, "tess", token) as web:
        shown = (await web.get(page)).text
        action = re.search(rf'action="({page}/versions/{version}/try/[^"]+)"', shown)
        assert action, "the model page has no Try it form"
        inputs = re.findall(r'name="(field\.[^"]+)"', shown)
        assert inputs, "the Try it form has no input field"
        htmx = {"HX-Request": "true"}
        token_value = csrf_of(shown)
        wrong = await web.post(
            action.group(1),
            data={"csrf_token": token_value, **{name: "not a number" for name in inputs}},
            headers=htmx,
        )
        assert wrong.status_code == 200  # htmx swaps 2xx only; the status is in a header
        assert wrong.headers["x-modelbay-try-status"] == "422"
        assert 'class="field-error"' in wrong.text
        no_js = await web.post(
            action.group(1), data={"csrf_token": token_value, **{n: "1" for n in inputs}}
        )
        # No builder in this stack: the model cannot run, and the page says so in words.
        assert no_js.status_code == 422
        assert "The model did not answer" in no_js.text
        assert "<html" in no_js.text  # without JavaScript: a page of its own
        forged = await web.post(action.group(1), data={n: "1" for n in inputs})
        assert forged.status_code == 403
    async with stack.client(token) as api:
        missing = await api.post(f"/v1/models/tess/wrens/versions/{version}/try/nope", json={})
        assert missing.status_code == 409
        assert missing.json()["type"].endswith("try-not-available")
    async with stack.client() as nobody:  # no token: trying starts containers, so sign in
        anonymous = await nobody.post(f"/v1/models/tess/wrens/versions/{version}/try/x", json={})
    assert anonymous.status_code == 401
