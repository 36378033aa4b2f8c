"""A publish request decided in the browser (Debian's chromium via Playwright) on the real stack.

Wendy's namespace is the stack's reviewed one (the catalog's PUBLISH_APPROVAL_OWNERS, set by
tests/e2e/conftest.py), so making her model public files a request. She takes the shared model
back to private, asks for `public` again through the form, and sees on `/reviews` that she
cannot decide her own request even as a publisher. Victor (a publisher) declines without a
comment (the error is shown next to the box), then with one; wendy reads the decline in the
queue and on her model page, which then says her next request waits; victor approves it, by
keyboard only at phone width; wendy's model page shows it public. Runs after the other web
tests (file order) and leaves the model public, as it found it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from e2e_client import Gateway, explain
from playwright.async_api import Browser, Page, expect
from web_pages import PushedModel, model_path, shoot, signed_in_page

pytestmark = pytest.mark.timeout(600)

DECLINE_REASON = "Say which data the model was trained on, and its license."
FITS_THE_SCREEN = "document.documentElement.scrollWidth <= window.innerWidth"


async def _grant_publisher(admin: Gateway, user: Gateway) -> None:
    granted = await admin.http.put(f"/v1/users/{user.username}/publisher", json={"publisher": True})
    assert granted.status_code == 200, explain(granted)


async def _publish_as(page: Page, model: PushedModel, visibility_label: str) -> None:
    """Send the publish form (filled from the model's current metadata) with one visibility."""
    await page.goto(f"{model_path(model)}/publish")
    await page.get_by_label(visibility_label).check()
    await page.get_by_role("button", name="Publish").click()


async def _ask_for_public(page: Page, model: PushedModel) -> int:
    await _publish_as(page, model, "Public: everyone can find and pull it")
    await expect(page).to_have_url(re.compile(re.escape(model_path(model)) + r"\?requested=\d+$"))
    await expect(page.get_by_role("status")).to_contain_text("waits for a publisher's approval")
    return int(page.url.rsplit("=", 1)[1])


async def test_a_publisher_declines_then_approves_a_request_in_the_browser(
    browser: Browser, published: PushedModel, victor: Gateway, admin: Gateway, screenshots: Path
) -> None:
    wendy = published.owner
    # Both publishers: wendy's right does not extend to her own request.
    for user in (wendy, victor):
        await _grant_publisher(admin, user)
    owner_page = await signed_in_page(browser, wendy)
    await _publish_as(owner_page, published, "Private: only you and administrators")
    await expect(owner_page.get_by_role("status")).to_contain_text("published as private")

    first = await _ask_for_public(owner_page, published)
    await owner_page.get_by_role("link", name="Publish requests").first.click()
    await expect(owner_page).to_have_url(re.compile(r"/reviews$"))
    own = owner_page.locator(f"#request-{first}")
    await expect(own.get_by_role("note")).to_have_text(
        "You asked for this publication: another publisher must decide it."
    )
    await expect(own.get_by_role("button")).to_have_count(0)
    await shoot(owner_page, screenshots, "reviews-own-request")

    reviewer = await signed_in_page(browser, victor)
    await reviewer.goto("/reviews")
    request = reviewer.locator(f"#request-{first}")
    await expect(request.get_by_role("heading")).to_contain_text(
        f"{wendy.username}/{published.name}"
    )
    await request.get_by_role("button", name="Decline").click()
    box = reviewer.locator(f"#comment-{first}")
    await expect(reviewer.locator(f"#comment-{first}-error")).to_have_text(
        "Say why you decline: the owner reads this comment."
    )
    await expect(box).to_have_attribute("aria-invalid", "true")
    await expect(box).to_have_attribute("aria-describedby", f"comment-{first}-error")
    await shoot(reviewer, screenshots, "reviews-decline-needs-a-comment")
    await box.fill(DECLINE_REASON)
    await reviewer.locator(f"#request-{first}").get_by_role("button", name="Decline").click()
    await expect(reviewer).to_have_url(re.compile(rf"/reviews\?decided={first}$"))
    await expect(reviewer.get_by_role("status")).to_have_text(f"Request {first} is decided.")
    await reviewer.context.close()

    await owner_page.goto("/reviews?status=declined")
    declined = owner_page.locator(f"#request-{first}")
    await expect(declined).to_contain_text(f"Declined by {victor.username}")
    await expect(declined.locator("blockquote")).to_have_text(DECLINE_REASON)
    await shoot(owner_page, screenshots, "reviews-declined")
    await owner_page.goto(model_path(published))
    await expect(owner_page.locator(".model-header .chip").first).to_have_text("private")
    decline = owner_page.locator("#publication")  # on the model page too, near the controls
    await expect(decline).to_contain_text(f"declined by {victor.username} on ")
    await expect(decline.locator("blockquote")).to_have_text(DECLINE_REASON)
    await shoot(owner_page, screenshots, "model-publication-declined", full_page=False)

    second = await _ask_for_public(owner_page, published)
    await owner_page.goto(model_path(published))
    await expect(owner_page.locator("#publication")).to_contain_text("waiting for review since")
    await _approve_by_keyboard_at_phone_width(browser, victor, second, screenshots)

    await owner_page.goto(model_path(published))
    await expect(owner_page.locator(".model-header .chip").first).to_have_text("public")
    await expect(owner_page.locator("#publication")).to_have_count(0)  # approved: nothing to say
    await shoot(owner_page, screenshots, "model-approved", full_page=False)
    await owner_page.goto("/reviews?status=approved")
    await expect(owner_page.locator(f"#request-{second}")).to_contain_text(
        f"Approved by {victor.username}"
    )
    await owner_page.context.close()
    found = await victor.http.get(f"/v1/models/{wendy.username}/{published.name}")
    assert found.json()["visibility"] == "public", explain(found)


async def _approve_by_keyboard_at_phone_width(
    browser: Browser, victor: Gateway, request_id: int, screenshots: Path
) -> None:
    """From the page's top, Tab to the request's comment box, type, Tab to Approve, Enter."""
    phone = await signed_in_page(browser, victor, phone=True)
    await phone.goto("/reviews")
    await expect(phone.locator(f"#request-{request_id}")).to_be_visible()
    assert await phone.evaluate(FITS_THE_SCREEN), "the review queue is wider than 360 px"
    await shoot(phone, screenshots, "reviews-phone")
    box_id = f"comment-{request_id}"
    for _ in range(40):  # the navigation, the tabs and the request's links come first
        await phone.keyboard.press("Tab")
        if await phone.evaluate("document.activeElement.id") == box_id:
            break
    assert await phone.evaluate("document.activeElement.id") == box_id, "box not reachable"
    await phone.keyboard.type("Thank you: the card now says what the model was trained on.")
    await phone.keyboard.press("Tab")
    focused = await phone.evaluate("document.activeElement.textContent.trim()")
    assert focused == "Approve", f"Tab from the comment reached {focused!r}, not Approve"
    await phone.keyboard.press("Enter")
    await expect(phone).to_have_url(re.compile(rf"/reviews\?decided={request_id}$"))
    await phone.context.close()
