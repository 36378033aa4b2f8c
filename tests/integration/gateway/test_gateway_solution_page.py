"""A solution on the web over HTTP (real catalog and onboarding on Postgres): the model page marks
it and lists its nodes with links; its owner edits the document in a textarea (prefilled with
the shown version's) and pushes it as the next version through the route `/v1` uses; refusals
come back next to the textarea, one line per problem with where it is. The browser flow is in
tests/e2e/web/test_web_solution.py."""

from __future__ import annotations

import html

from gateway_curation import ready_model
from gateway_stack import Stack
from test_gateway_model_deletion import _push_solution, _solution
from test_gateway_web import browser, csrf_of, sign_in


async def test_solution_page_lists_nodes_and_edits_the_document_into_a_new_version(
    stack: Stack, archive_bytes: bytes
) -> None:
    eve, fay = await stack.new_user("eve"), await stack.new_user("fay")
    adder = await ready_model(stack, eve, "eve", "adder", archive_bytes)
    first = await _push_solution(stack, eve, "eve", "sums", "adder", f"eve/adder:{adder}")

    async with browser(stack) as client:
        await sign_in(client, "eve", eve)
        page = await client.get("/models/eve/sums")
        assert page.status_code == 200
        assert 'class="chip kind-solution"' in page.text
        assert '<a href="/models/eve/adder?version=1">eve/adder:1</a>' in page.text
        assert "/models/eve/sums/solution/edit?version=1" in page.text
        listed = await client.get("/", params={"kind": "solution", "owner": "eve"})
        assert "/models/eve/sums" in listed.text
        assert "/models/eve/adder" not in listed.text

        form = await client.get("/models/eve/sums/solution/edit", params={"version": first})
        assert form.status_code == 200
        text = html.unescape(form.text)
        assert "model: eve/adder:1" in text
        csrf = csrf_of(form.text)
        broken = text.split("<textarea", 1)[1].split(">", 1)[1].split("</textarea>")[0]
        broken = broken.replace("    method: add", "    method: add\n    retries: 9")
        refused = await client.post(
            "/models/eve/sums/solution/edit",
            data={"csrf_token": csrf, "document": broken, "base": str(first)},
        )
        assert refused.status_code == 422
        assert "<code>nodes.adder.retries</code>: must be a whole number from 0 to 5" in (
            refused.text
        )
        assert "retries: 9" in html.unescape(refused.text)  # what was typed is kept
        unreadable = await client.post(
            "/models/eve/sums/solution/edit",
            data={"csrf_token": csrf, "document": "nodes: [unclosed", "base": str(first)},
        )
        assert unreadable.status_code == 400
        assert "<code>document</code>" in unreadable.text
        forged = await client.post(
            "/models/eve/sums/solution/edit", data={"csrf_token": "0" * 64, "document": "x"}
        )
        assert forged.status_code == 403

        fixed = broken.replace("retries: 9", "retries: 2")
        saved = await client.post(
            "/models/eve/sums/solution/edit",
            data={"csrf_token": csrf, "document": fixed, "base": str(first)},
        )
        assert saved.status_code == 303, saved.text
        recording = f"/models/eve/sums/versions/{first + 1}/recording"
        assert saved.headers["location"] == recording
        await stack.wait_for_version(eve, "eve", "sums", first + 1)
        landed = await client.get(recording)  # recorded: straight on to the version's page
        assert (landed.status_code, landed.headers["location"]) == (
            303,
            f"/models/eve/sums/versions/{first + 1}",
        )
        # A number newer than the catalog's newest is "being recorded", reloading itself, for
        # two minutes at most (then it says so); a recorded one goes on to its page.
        waiting = await client.get(f"/models/eve/sums/versions/{first + 9}/recording")
        assert waiting.status_code == 200, waiting.text
        assert "The catalog is\n  recording it" in waiting.text
        refresh = f"/models/eve/sums/versions/{first + 9}/recording?poll=1"
        # Without scripts it reloads itself; app.js asks in the background instead (no reload,
        # so a screen reader hears the notice once), from the page's next poll number.
        noscript = f'<noscript><meta http-equiv="refresh" content="1; url={refresh}"></noscript>'
        assert noscript in waiting.text
        assert 'data-recording-poll="1"' in waiting.text
        last = await client.get(refresh.replace("poll=1", "poll=120"))
        assert "has not recorded it after two minutes" in last.text
        assert 'http-equiv="refresh"' not in last.text
        assert "data-recording-poll" not in last.text  # app.js stops asking
        for malformed in (
            refresh.replace("poll=1", "poll=121"),
            "/models/eve/sums/versions/0/recording",
        ):
            assert (await client.get(malformed)).status_code == 404  # the pages' rule
        old = await client.get(f"/models/eve/sums/versions/{first}/recording")
        assert old.headers["location"] == f"/models/eve/sums/versions/{first}"
    async with stack.client(eve) as api:
        answer = await api.get(f"/v1/solutions/eve/sums/versions/{first + 1}/document")
    expected = _solution("adder", "eve/adder:1")
    expected["nodes"]["adder"]["retries"] = 2
    assert answer.json() == {"kind": "solution", **expected}

    async with browser(stack) as client:
        await sign_in(client, "fay", fay)
        # Not hers: the model is private, so the same 404 as a missing one.
        assert (await client.get("/models/eve/sums/solution/edit")).status_code == 404
        unseen = await client.get(f"/models/eve/sums/versions/{first + 9}/recording")
        assert unseen.status_code == 404
