"""The web UI in a real browser (Debian's chromium via Playwright) on the real stack.

One contributor (`wendy-…`) pushes the iris model through the real pipeline and follows it live
on the version page; another user (`victor-…`) cannot see it while it is private (the same 404
page as a missing model), then finds it by searching once wendy's publication, asked for through
the form, is approved (her namespace is reviewed: conftest.py).
Every page is screenshotted into var/screenshots/ (docs/ui/ keeps the key ones).

The tests of this module run in order and share the model with test_web_ui_marketplace.py (one
build for the whole web tier; the fixtures are in conftest.py): each states what it needs from
the one before through the `published` / `ready` fixtures, so one can also run alone.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from e2e_client import Gateway, explain
from playwright.async_api import Browser, Page, expect
from web_pages import HOSTILE_CARD, PushedModel, model_path, shoot, signed_in_page

pytestmark = pytest.mark.timeout(2400)

# Only stops a hung pipeline; the page's live update is what is checked, not its speed.
PIPELINE_BOUND_MS = 1_200_000


async def _no_script_ran(page: Page) -> None:
    assert await page.evaluate("window.__injected === undefined"), "injected code ran"


async def test_version_page_follows_the_pipeline_live(
    browser: Browser, pushed: PushedModel, screenshots: Path
) -> None:
    page = await signed_in_page(browser, pushed.owner)
    version_url = f"{model_path(pushed)}/versions/{pushed.version}"
    # The catalog learns of the version from ModelUploaded, just after the push's 202.
    for _ in range(60):
        response = await page.goto(version_url)
        assert response is not None
        if response.status == 200:
            break
        await page.wait_for_timeout(500)
    status = page.locator("#version-status")
    first_status = (await status.inner_text()).strip()
    await shoot(page, screenshots, "version-live-in-progress")
    # A marker on the window survives only if the page is never reloaded: the change must
    # arrive over SSE and be swapped in place.
    await page.evaluate("window.__sameDocument = true")
    await expect(status).to_have_text(re.compile("ready|failed"), timeout=PIPELINE_BOUND_MS)
    reason = await page.locator(".failure").all_inner_texts()
    assert await status.inner_text() == "ready", f"the version failed: {reason}"
    assert await page.evaluate("window.__sameDocument === true")
    assert first_status != "ready", "the version was ready before the page opened"
    stages = page.locator(".stage")
    await expect(stages).to_have_count(4)
    await expect(page.locator(".stage-done")).to_have_count(4)
    await expect(page.get_by_role("link", name="Open the model page")).to_be_visible()
    await shoot(page, screenshots, "version-ready")
    await page.context.close()


async def test_private_model_is_the_same_404_as_a_missing_one(
    browser: Browser, ready: PushedModel, victor: Gateway, screenshots: Path
) -> None:
    owner = ready.owner.username
    page = await signed_in_page(browser, victor)
    missing = await page.goto(f"/models/{owner}/no-such-model-{ready.word}")
    assert missing is not None
    assert missing.status == 404
    missing_text = await page.locator("main").inner_text()
    await shoot(page, screenshots, "not-found")
    for path in (model_path(ready), f"{model_path(ready)}/versions/{ready.version}"):
        hidden = await page.goto(path)
        assert hidden is not None
        assert hidden.status == 404
        assert await page.locator("main").inner_text() == missing_text
    hidden_file = await page.request.get(f"{model_path(ready)}/versions/1/files/proto")
    assert hidden_file.status == 404
    await page.goto(f"/?q={ready.name}")
    await expect(page.locator("#results .card")).to_have_count(0)
    await page.context.close()


async def test_publish_form_shows_errors_next_to_fields_then_asks_for_publication(
    browser: Browser, ready: PushedModel, screenshots: Path
) -> None:
    page = await signed_in_page(browser, ready.owner)
    await page.goto(f"{model_path(ready)}/publish")
    await page.get_by_label("Description (model card, Markdown)").fill("")
    await page.get_by_label("License").fill("   ")
    await page.get_by_role("button", name="Publish").click()
    await expect(page.locator("#description-error")).to_be_visible()
    await expect(page.locator("#category-error")).to_be_visible()
    await expect(page.locator("#license-error")).to_be_visible()
    await expect(page.get_by_label("Category")).to_have_attribute("aria-invalid", "true")
    await shoot(page, screenshots, "publish-errors")

    await page.get_by_label("Description (model card, Markdown)").fill(
        HOSTILE_CARD.format(word=ready.word)
    )
    await page.get_by_label("Category").select_option("classification")
    await page.get_by_label("License").fill("MIT")
    await page.get_by_label("Tags").fill("iris, tabular")
    await page.get_by_label("Public: everyone can find and pull it").check()
    await page.get_by_role("button", name="Publish").click()
    # Wendy's namespace is reviewed (conftest.py): the form files a publish request, which the
    # `published` fixture (or test_web_ui_reviews.py, in the browser) has decided.
    await expect(page).to_have_url(re.compile(re.escape(model_path(ready)) + r"\?requested=\d+$"))
    await expect(page.get_by_role("status")).to_contain_text("waits for a publisher's approval")
    await page.context.close()


async def test_search_open_model_copy_pull_line_and_inert_markdown(
    browser: Browser, published: PushedModel, victor: Gateway, screenshots: Path
) -> None:
    page = await signed_in_page(browser, victor)
    page.on("dialog", lambda dialog: pytest.fail(f"a dialog opened: {dialog.message}"))
    await page.goto("/")
    await page.evaluate("window.__sameDocument = true")
    # Typed key by key, with a typo (two letters swapped): the list follows the typing (htmx,
    # debounced, no page load) and the catalog forgives the typo.
    typo = published.word[:-2] + published.word[-1] + published.word[-2]
    await page.get_by_label("Search models").press_sequentially(typo, delay=40)
    card = page.locator("#results .card")
    await expect(card).to_have_count(1)
    await expect(card).to_contain_text(f"{published.owner.username}/{published.name}")
    assert await page.evaluate("window.__sameDocument === true")
    # The search is in the address, so it can be shared or bookmarked.
    await expect(page).to_have_url(re.compile(f"q={typo}"))
    await shoot(page, screenshots, "catalog-search")

    await card.get_by_role("link").click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text(published.name)
    card_html = page.locator(".markdown")
    await expect(card_html.locator("h3")).to_contain_text("Iris")
    await expect(card_html).to_contain_text('<script>window.__injected = "script tag";</script>')
    assert await card_html.locator("script, img").count() == 0
    assert await card_html.locator("a[href^='javascript']").count() == 0
    safe_link = card_html.get_by_role("link", name="documentation")
    await expect(safe_link).to_have_attribute("rel", "nofollow noopener ugc")
    await _no_script_ran(page)

    await expect(page.get_by_role("heading", name="Methods")).to_be_visible()
    await expect(page.locator(".method").first).to_contain_text("sepal_length")
    await expect(page.locator("pre").filter(has_text="curl -s -X POST")).to_have_count(1)
    await expect(page.locator("pre").filter(has_text="requests.post")).to_have_count(1)
    await expect(page.locator("pre").filter(has_text="fetch(")).to_have_count(1)
    proto = await page.request.get(f"{model_path(published)}/versions/1/files/proto")
    assert proto.status == 200
    assert "service Model" in await proto.text()

    pull_line = await page.locator("#pull-line").input_value()
    assert pull_line.startswith("docker pull ")
    assert published.name in pull_line
    await page.locator("button[data-copy-target='pull-line']").click()
    await expect(page.locator("button[data-copy-target='pull-line']")).to_have_text("Copied")
    assert await page.evaluate("navigator.clipboard.readText()") == pull_line
    await shoot(page, screenshots, "model-page")
    await _no_script_ran(page)
    await page.context.close()


async def test_rate_star_and_comment(
    browser: Browser, published: PushedModel, victor: Gateway, screenshots: Path
) -> None:
    page = await signed_in_page(browser, victor)
    await page.goto(model_path(published))
    ratings = page.locator("#ratings")
    await ratings.get_by_label("4 ★").check()
    await ratings.get_by_label("Review (optional, Markdown)").fill("Works **well** on my data.")
    await ratings.get_by_role("button", name="Rate").click()
    await expect(ratings).to_contain_text("4.00 out of 5, from 1 rating")
    await expect(ratings.locator(".review strong").last).to_have_text("well")
    await page.locator("#favourite").get_by_role("button", name="☆ Star").click()
    await expect(page.locator("#favourite")).to_contain_text("1 person has starred")
    comments = page.locator("#comments")
    await comments.get_by_label("New comment (Markdown)").fill("Which iris data set?")
    await comments.get_by_role("button", name="Comment").click()
    await expect(comments.locator(".comment")).to_contain_text("Which iris data set?")
    await shoot(page, screenshots, "model-community")
    await page.context.close()

    owner_page = await signed_in_page(browser, published.owner)
    await owner_page.goto(model_path(published))
    first = owner_page.locator("#comments .comment").first
    await first.locator("summary").first.click()
    await first.get_by_label(f"Your reply to {victor.username}").fill("The classic Fisher set.")
    await first.locator("details form button[type=submit]").first.click()
    await expect(owner_page.locator("#comments .thread .thread")).to_contain_text("Fisher set")
    await owner_page.context.close()


async def test_forms_without_their_csrf_token_are_refused(
    browser: Browser, published: PushedModel, screenshots: Path
) -> None:
    page = await signed_in_page(browser, published.owner)
    form = {
        "visibility": "private",
        "description": "changed by a forged form",
        "category": "other",
        "license": "MIT",
    }
    publish_url = f"{model_path(published)}/publish"
    for token in (None, "0" * 64):
        data = form if token is None else {**form, "csrf_token": token}
        answer = await page.request.post(publish_url, form=data)
        assert answer.status == 403
        assert "Form not accepted" in await answer.text()
    signout = await page.request.post("/signout", form={})
    assert signout.status == 403
    # Nothing changed: still public, still signed in.
    found = await published.owner.http.get(
        f"/v1/models/{published.owner.username}/{published.name}"
    )
    assert found.json()["visibility"] == "public", explain(found)
    await page.goto("/my")
    await expect(page.get_by_text(f"Signed in as {published.owner.username}")).to_be_visible()
    await page.set_content(
        f'<form method="post" action="{published.owner.url}{publish_url}">'
        '<input name="visibility" value="private"><button>go</button></form>'
    )
    await page.get_by_role("button", name="go").click()
    await expect(page.locator("h1")).to_have_text("Form not accepted")
    await shoot(page, screenshots, "csrf-refused")
    await page.context.close()


# The innermost elements whose removal lets the page fit the screen: what makes it too wide.
WIDER_THAN_THE_SCREEN = """() => [...document.querySelectorAll('body *')]
  .filter(e => { const before = e.style.display; e.style.display = 'none';
      const fits = document.documentElement.scrollWidth <= window.innerWidth;
      e.style.display = before; return fits; })
  .slice(-3)
  .map(e => e.tagName.toLowerCase() + (e.className ? '.' + e.className : '')
       + (e.id ? '#' + e.id : '') + ': ' + (e.textContent || '').trim().slice(0, 60))"""


async def test_my_models_phone_width_and_sign_out(
    browser: Browser, published: PushedModel, screenshots: Path
) -> None:
    page = await signed_in_page(browser, published.owner, phone=True)
    await page.goto("/my")
    await expect(page.locator("#results .card")).to_have_count(1)
    await shoot(page, screenshots, "my-models-phone")
    await page.goto(model_path(published))
    # Nothing wider than the screen: a phone user never scrolls sideways.
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"the model page is {width}px wide at 360px: " + str(
        await page.evaluate(WIDER_THAN_THE_SCREEN)
    )
    await shoot(page, screenshots, "model-page-phone")
    await page.keyboard.press("Tab")
    focused = await page.evaluate("document.activeElement.textContent")
    assert "Skip to content" in focused
    await page.get_by_role("button", name="Sign out").click()
    await expect(page).to_have_url(f"{published.owner.url}/signin")
    await shoot(page, screenshots, "signin")
    await page.goto("/my")
    await expect(page).to_have_url(f"{published.owner.url}/signin?next=%2Fmy")
    await page.context.close()
