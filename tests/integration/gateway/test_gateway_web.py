"""The web UI's rules over HTTP, on the gateway with the real catalog and onboarding (Postgres):
sessions and their cookie, CSRF, the one 404 page, the publish form's field errors, safe model
cards. The browser flows are in tests/e2e/web/."""

from __future__ import annotations

import asyncio
import re

import httpx
from gateway_stack import Stack, sse_events
from modelbay_common.events import ImageBuildFailed, envelope
from modelbay_embedded.inprocess import InProcessTransport

GUARD_SECONDS = 60  # only stops a hung stream; never a speed assertion

HOSTILE = "<script>alert(1)</script> [x](javascript:alert(2)) [ok](https://example.org)"


def browser(stack: Stack) -> httpx.AsyncClient:
    """A cookie-keeping client without a bearer token, like a browser."""
    return httpx.AsyncClient(
        transport=InProcessTransport(stack.gateway_app),
        base_url="http://gateway",
        timeout=60,
        follow_redirects=False,
    )


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no CSRF field"
    return found.group(1)


async def sign_in(client: httpx.AsyncClient, username: str, token: str) -> httpx.Response:
    form = await client.get("/signin")
    assert form.status_code == 200
    return await client.post(
        "/signin",
        data={"csrf_token": csrf_of(form.text), "username": username, "token": token},
    )


async def test_sign_in_sets_a_session_cookie_and_sign_out_revokes_it(stack: Stack) -> None:
    token = await stack.new_user("webber")
    async with browser(stack) as client:
        signed_in = await sign_in(client, "webber", token)
        assert signed_in.status_code == 303
        cookie = next(
            value
            for value in signed_in.headers.get_list("set-cookie")
            if value.startswith("modelbay_session=")
        )
        assert "HttpOnly" in cookie
        assert "SameSite=lax" in cookie
        assert token not in cookie  # the browser gets a session of its own
        home = await client.get("/")
        assert "Signed in as <strong>webber</strong>" in home.text
        assert "default-src 'self'" in home.headers["content-security-policy"]

        async with stack.client(token) as api:
            tokens = (await api.get("/v1/tokens")).json()
        assert [t["name"] for t in tokens if t["revoked_at"] is None] == ["default", "web session"]

        signed_out = await client.post("/signout", data={"csrf_token": csrf_of(home.text)})
        assert signed_out.status_code == 303
        client.cookies.set("modelbay_session", cookie.split(";")[0].split("=", 1)[1])
        after = await client.get("/my")  # the old cookie no longer opens a session
        assert after.status_code == 303
        assert after.headers["location"] == "/signin?next=%2Fmy"
        async with stack.client(token) as api:
            tokens = (await api.get("/v1/tokens")).json()
        assert [t["name"] for t in tokens if t["revoked_at"] is None] == ["default"]


async def test_wrong_credentials_and_csrf(stack: Stack) -> None:
    token = await stack.new_user("carefulcat")
    await stack.new_user("othercat")
    async with browser(stack) as client:
        wrong_user = await sign_in(client, "othercat", token)
        assert wrong_user.status_code == 400
        assert "do not match an active account" in wrong_user.text
        assert "modelbay_session" not in client.cookies
        no_token = await client.post("/signin", data={"username": "carefulcat", "token": token})
        assert no_token.status_code == 403
        assert "Form not accepted" in no_token.text
        forged = await client.post(
            "/signin", data={"csrf_token": "forged", "username": "carefulcat", "token": token}
        )
        assert forged.status_code == 403
        redirect = await client.post(
            "/signin",
            data={
                "csrf_token": csrf_of((await client.get("/signin")).text),
                "username": "carefulcat",
                "token": token,
                "next": "//evil.example/",
            },
        )
        assert redirect.headers["location"] == "/"  # no open redirect
        for data in ({}, {"csrf_token": "0" * 64}):
            refused = await client.post("/signout", data=data)
            assert refused.status_code == 403
        assert (await client.get("/my")).status_code == 200  # still signed in


async def test_private_model_page_is_the_same_404_as_a_missing_one(
    stack: Stack, archive_bytes: bytes
) -> None:
    owner_token = await stack.new_user("hider")
    other_token = await stack.new_user("seeker")
    assert (await stack.push(owner_token, "hider", "secret", archive_bytes)).status_code == 202
    await stack.wait_for_version(owner_token, "hider", "secret", 1)
    async with browser(stack) as client:
        await sign_in(client, "seeker", other_token)
        for path in ("/models/hider/{}", "/models/hider/{}/versions/1"):
            hidden = await client.get(path.format("secret"))
            missing = await client.get(path.format("no-such-model"))
            assert hidden.status_code == missing.status_code == 404
            assert hidden.text == missing.text
        for kind in ("proto", "bundle", "image"):
            hidden_file = await client.get(f"/models/hider/secret/versions/1/files/{kind}")
            assert hidden_file.status_code == 404
        html = {"Accept": "text/html"}
        unknown = await client.get("/models/hider/secret/no/such/page", headers=html)
        assert unknown.status_code == 404
        assert unknown.text == missing.text  # any address: the one 404 page
        api = await client.get("/v1/no/such/route", headers=html)
        assert api.headers["content-type"] == "application/problem+json"
        listed = await client.get("/", params={"q": "secret"})
        assert "hider/secret" not in listed.text
    async with browser(stack) as anonymous:
        page = await anonymous.get("/models/hider/secret")
        assert page.status_code == 303  # no session, no anonymous reads: sign in first
        assert page.headers["location"].startswith("/signin?next=")


async def test_publish_form_errors_then_published_card_is_inert(
    stack: Stack, archive_bytes: bytes
) -> None:
    token = await stack.new_user("teller")
    assert (await stack.push(token, "teller", "cards", archive_bytes)).status_code == 202
    detail = await stack.wait_for_version(token, "teller", "cards", 1)
    async with browser(stack) as client:
        await sign_in(client, "teller", token)
        form = await client.get("/models/teller/cards/publish")
        csrf = csrf_of(form.text)
        not_ready = await client.post(
            "/models/teller/cards/publish",
            data={"csrf_token": csrf, "visibility": "public", "description": "d",
                  "category": "regression", "license": "MIT", "version": "1"},
        )  # fmt: skip
        assert not_ready.status_code == 422
        assert 'id="version-error"' in not_ready.text
        await stack.make_ready("teller", "cards", 1, detail["bundle"]["sha256"])
        blank = await client.post(
            "/models/teller/cards/publish",
            data={"csrf_token": csrf, "visibility": "public", "description": " ",
                  "category": "", "license": "", "tags": "Bad Tag!"},
        )  # fmt: skip
        assert blank.status_code == 422
        for field in ("description", "category", "license"):
            assert f'id="{field}-error"' in blank.text
            assert re.search(rf'id="{field}"[^>]*aria-invalid="true"', blank.text, re.S)
        bad_tag = await client.post(
            "/models/teller/cards/publish",
            data={"csrf_token": csrf, "visibility": "public", "description": HOSTILE,
                  "category": "regression", "license": "MIT", "tags": "Bad Tag!"},
        )  # fmt: skip
        assert bad_tag.status_code == 422  # the catalog's refusal, shown next to the field
        assert 'id="tags-error"' in bad_tag.text
        published = await client.post(
            "/models/teller/cards/publish",
            data={"csrf_token": csrf, "visibility": "public", "description": HOSTILE,
                  "category": "regression", "license": "MIT", "tags": "demo"},
        )  # fmt: skip
        assert published.status_code == 303
        assert published.headers["location"] == "/models/teller/cards?published=1"
        page = await client.get("/models/teller/cards")
        card = page.text.split('class="markdown">', 1)[1].split("</div>", 1)[0]
        assert "<script" not in card
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in card
        assert 'href="javascript' not in card
        assert '<a href="https://example.org" rel="nofollow noopener ugc">ok</a>' in card
        assert "docker pull 127.0.0.1:5000/teller/cards:1" in page.text

        faceted = await client.get("/", params={"owner": "teller", "sort": "downloads"})
        assert '<option value="teller" selected>teller (1)</option>' in faceted.text
        assert '<option value="regression" >regression (1)</option>' in faceted.text
        assert '<option value="downloads" selected>Most downloaded</option>' in faceted.text

        htmx = {"HX-Request": "true"}
        typed = await client.get("/my", params={"q": "cards"}, headers=htmx)
        assert typed.text.lstrip().startswith('<section id="results"')  # the list alone
        assert "/models/teller/cards" in typed.text
        assert typed.headers["vary"] == "HX-Request"
        back = await client.get("/my", headers={**htmx, "HX-History-Restore-Request": "true"})
        assert back.text.lstrip().startswith("<!doctype html>")  # back button: the whole page


async def _public_model(stack: Stack, archive_bytes: bytes, owner: str, name: str) -> str:
    token = await stack.new_user(owner)
    assert (await stack.push(token, owner, name, archive_bytes)).status_code == 202
    detail = await stack.wait_for_version(token, owner, name, 1)
    await stack.make_ready(owner, name, 1, detail["bundle"]["sha256"])
    async with stack.client(token) as api:
        published = await api.post(
            f"/v1/models/{owner}/{name}/publish",
            json={"description": "x", "category": "regression", "license": "MIT"},
        )
    assert published.status_code == 200, published.text
    return token


async def test_rate_review_star_and_comment_from_the_model_page(
    stack: Stack, archive_bytes: bytes
) -> None:
    owner_token = await _public_model(stack, archive_bytes, "maker", "talked")
    fan_token = await stack.new_user("fan")
    page_path = "/models/maker/talked"
    async with browser(stack) as owner:
        await sign_in(owner, "maker", owner_token)
        own_page = await owner.get(page_path)
        assert 'action="/models/maker/talked/rating"' not in own_page.text  # no self-rating
    async with browser(stack) as fan:
        await sign_in(fan, "fan", fan_token)
        page = await fan.get(page_path)
        csrf = csrf_of(page.text)
        assert "No ratings yet." in page.text

        forged = await fan.post(f"{page_path}/rating", data={"stars": "5"})
        assert forged.status_code == 403
        too_many = await fan.post(f"{page_path}/rating", data={"csrf_token": csrf, "stars": "9"})
        assert too_many.status_code == 422
        assert 'id="rating_stars-error"' in too_many.text
        rated = await fan.post(
            f"{page_path}/rating",
            data={"csrf_token": csrf, "stars": "4", "review": "Good <script>x()</script>"},
        )
        assert rated.status_code == 303
        assert rated.headers["location"] == f"{page_path}#ratings"

        starred = await fan.post(
            f"{page_path}/favourite", data={"csrf_token": csrf, "starred": "true"}
        )
        assert starred.status_code == 303

        blank = await fan.post(
            f"{page_path}/versions/1/comments", data={"csrf_token": csrf, "body": "  "}
        )
        assert blank.status_code == 422
        assert 'id="comment_body-error"' in blank.text
        posted = await fan.post(
            f"{page_path}/versions/1/comments",
            data={"csrf_token": csrf, "body": "Which **iris** data?"},
        )
        assert posted.status_code == 303
        comment_id = int(posted.headers["location"].rsplit("-", 1)[1])

        page = await fan.get(page_path)
        assert "4.00</strong> out of 5, from 1 rating" in page.text
        assert "Good &lt;script&gt;x()&lt;/script&gt;" in page.text
        assert "★ Starred" in page.text
        assert f'id="comment-{comment_id}"' in page.text
        assert "Which <strong>iris</strong> data?" in page.text

        edited = await fan.post(
            f"{page_path}/versions/1/comments/{comment_id}/edit",
            data={"csrf_token": csrf, "body": "Which iris data set, exactly?"},
        )
        assert edited.status_code == 303
        emptied = await fan.post(
            f"{page_path}/versions/1/comments/{comment_id}/edit",
            data={"csrf_token": csrf, "body": ""},
        )
        assert emptied.status_code == 422
        assert f'id="edit_{comment_id}-error"' in emptied.text
        mine = await fan.get("/my")
        starred = mine.text.split('id="starred-heading"', 1)[1]
        assert "/models/maker/talked" in starred
    async with browser(stack) as owner:
        await sign_in(owner, "maker", owner_token)
        own_page = await owner.get(page_path)
        reply = await owner.post(
            f"{page_path}/versions/1/comments",
            data={"csrf_token": csrf_of(own_page.text), "body": "The classic one.",
                  "parent_id": str(comment_id)},
        )  # fmt: skip
        assert reply.status_code == 303
        others = await owner.post(
            f"{page_path}/versions/1/comments/{comment_id}/delete",
            data={"csrf_token": csrf_of(own_page.text)},
        )
        assert others.status_code == 403  # the owner may not delete someone else's comment
        page = await owner.get(page_path)
        thread = page.text.split(f'id="comment-{comment_id}"', 1)[1]
        assert "Which iris data set, exactly?" in thread
        assert "edited" in thread
        assert "The classic one." in thread  # the reply sits inside the thread
        assert f'comments/{comment_id}/edit"' not in page.text  # only its author edits it


async def test_version_page_streams_events_and_shows_a_failure_with_its_log(
    stack: Stack, archive_bytes: bytes
) -> None:
    token = await stack.new_user("breaker")
    assert (await stack.push(token, "breaker", "broken", archive_bytes)).status_code == 202
    await stack.wait_for_version(token, "breaker", "broken", 1)
    path = "/models/breaker/broken/versions/1"
    async with browser(stack) as client:
        await sign_in(client, "breaker", token)
        before = await client.get(path)
        assert 'data-events-url="/models/breaker/broken/versions/1/events"' in before.text
        async with client.stream("GET", f"{path}/events") as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            lines = stream.aiter_lines()
            async for line in lines:
                if line == ": connected":
                    break  # subscribed: what is published now reaches this stream
            failed = ImageBuildFailed(
                owner="breaker",
                name="broken",
                version=1,
                reason="pip could not install numpy==0.0.1 (no such version)",
                log_tail="Step 4/9 : RUN pip install\n<script>alert(1)</script>\nERROR: no",
            )
            await stack.bus.publish(envelope(failed, source="/modelbay/tests"))
            await stack.bus.drain()
            async with asyncio.timeout(GUARD_SECONDS):  # only stops a hung stream
                event = await anext(sse_events(lines))
        assert event["event"] == "modelbay.model.image_build_failed.v1"
        after = await client.get(f"{path}/pipeline")  # what the page's script swaps in
        assert 'class="badge status-failed"' in after.text
        assert "data-events-url" not in after.text  # final: the page stops listening
        assert "pip could not install numpy==0.0.1 (no such version)" in after.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in after.text  # the log is text
        model = await client.get("/models/breaker/broken")
        assert "pip could not install numpy==0.0.1" in model.text  # in the versions table


async def test_versions_show_their_interface_diff(stack: Stack, archive_bytes: bytes) -> None:
    token = await stack.new_user("differ")
    for version in (1, 2):
        assert (await stack.push(token, "differ", "twice", archive_bytes)).status_code == 202
        await stack.wait_for_version(token, "differ", "twice", version)
    async with stack.client(token) as api:
        diff = (await api.get("/v1/models/differ/twice/versions/2")).json()["interface_diff"]
    # The same bundle twice: compared with v1, nothing changed.
    assert diff["compared_to"] == 1
    assert diff["changes"] == []
    async with browser(stack) as client:
        await sign_in(client, "differ", token)
        version_page = await client.get("/models/differ/twice/versions/2")
        assert "Interface changes in v2" in version_page.text
        assert "The interface is the same as in v1: callers need no change." in version_page.text
        model_page = await client.get("/models/differ/twice")
        assert "same as v1" in model_page.text  # the versions table's interface column
