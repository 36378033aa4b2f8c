"""The marketplace pages in a real browser (Debian's chromium via Playwright) on the real stack:
"Try it" on the model page calls the built iris model (the builder's sandbox, a real container),
aliases, an organisation's page, the review queue, and the catalog ordered by rating.

The model is the one the web tier shares (conftest.py: pushed once, public). Keyboard use is
checked where a form is sent (Enter in a field, Tab through the navigation); one page is
screenshotted at phone width. Screenshots go to var/screenshots/ (docs/ui/ keeps the key ones).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from e2e_client import Gateway, explain
from playwright.async_api import Browser, expect
from web_pages import PushedModel, model_path, shoot, signed_in_page

pytestmark = pytest.mark.timeout(1200)

# Only stops a hung sandbox: the first call starts the model's container (seconds when idle,
# longer under load); the answer is what is checked, not its speed.
FIRST_ANSWER_BOUND_MS = 600_000
SAMPLE = {
    "sepal_length": "5.1, 6.7",
    "sepal_width": "3.5, 3.0",
    "petal_length": "1.4, 5.2",
    "petal_width": "0.2, 2.3",
}


async def test_try_it_answers_with_a_table_and_raw_json(
    browser: Browser, published: PushedModel, victor: Gateway, screenshots: Path
) -> None:
    page = await signed_in_page(browser, victor)
    await page.goto(model_path(published))
    await page.evaluate("window.__sameDocument = true")
    box = page.locator("#try-classify")
    await expect(box.get_by_role("group")).to_contain_text("Try classify on version")
    for field, value in SAMPLE.items():
        await box.get_by_label(field).fill(value)
    await box.get_by_label("petal_width").press("Enter")  # sent from the keyboard
    answer = box.locator(".try-answer")
    await expect(answer).to_be_visible(timeout=FIRST_ANSWER_BOUND_MS)
    table = answer.locator("table")
    await expect(table.locator("thead th")).to_have_text(["IrisType"])
    await expect(table.locator("tbody tr")).to_have_text(["0", "2"])
    await expect(answer.locator("pre.try-raw")).to_contain_text('"IrisType": [')
    assert await page.evaluate("window.__sameDocument === true"), "the page was reloaded"
    # The fields keep what was typed, so the next try changes one value.
    await expect(box.get_by_label("sepal_length")).to_have_value("5.1, 6.7")
    methods = page.locator("section[aria-labelledby='methods-heading']")
    await methods.screenshot(path=str(screenshots / "try-it.png"))

    # A value that is not a number: said next to its field, nothing sent.
    await box.get_by_label("sepal_width").fill("3.5, wide")
    await box.get_by_role("button", name="Call the model").click()
    await expect(box.locator("#try-classify-sepal_width")).to_have_attribute(
        "aria-invalid", "true", timeout=FIRST_ANSWER_BOUND_MS
    )
    await expect(box.locator(".field-error")).to_contain_text("Enter numbers separated by commas")
    # Columns of different lengths: the model refuses, and its problem reads as words.
    await box.get_by_label("sepal_width").fill("3.5")
    await box.get_by_role("button", name="Call the model").click()
    failure = box.get_by_role("alert")
    await expect(failure).to_contain_text("Invalid input", timeout=FIRST_ANSWER_BOUND_MS)
    await expect(failure).to_contain_text("sepal_width")
    await box.screenshot(path=str(screenshots / "try-it-refused.png"))
    # A stale form (its token no longer matches the session): the box says so instead of
    # staying silent (htmx does not swap a 403).
    await box.locator("input[name=csrf_token]").evaluate("input => { input.value = 'stale'; }")
    await box.get_by_role("button", name="Call the model").click()
    await expect(box.locator(".try-transport-error")).to_contain_text("reload the page")
    await page.context.close()

    # The same call through /v1, as a program makes it: the model's answer and its refusal.
    route = f"/v1{model_path(published)}/versions/{published.version}/try/classify"
    as_json = {field: [float(x) for x in value.split(",")] for field, value in SAMPLE.items()}
    answered = await victor.http.post(route, json=as_json)
    assert answered.status_code == 200, explain(answered)
    assert answered.json() == {"IrisType": [0, 2]}
    refused = await victor.http.post(route, json={**as_json, "sepal_width": [3.5]})
    assert refused.status_code == 422, explain(refused)
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["field"] == "sepal_width"


async def test_maintainer_moves_stable_and_others_only_see_it(
    browser: Browser, published: PushedModel, victor: Gateway, screenshots: Path
) -> None:
    page = await signed_in_page(browser, published.owner)
    await page.goto(model_path(published))
    aliases = page.locator("#aliases")
    await aliases.get_by_label("Alias").fill("stable")
    await aliases.get_by_label("Points at").select_option(str(published.version))
    await aliases.get_by_role("button", name="Move alias").click()
    await expect(aliases.locator("li").filter(has_text="@stable")).to_contain_text(
        f"v{published.version}"
    )
    await expect(aliases.locator("li").filter(has_text="@stable")).to_contain_text("moved by")
    await aliases.screenshot(path=str(screenshots / "model-aliases.png"))
    await page.context.close()

    other = await signed_in_page(browser, victor)
    await other.goto(model_path(published))
    await expect(other.locator("#aliases")).to_contain_text("@stable")
    await expect(other.get_by_role("button", name="Move alias")).to_have_count(0)
    await other.context.close()


async def test_organisation_page_members_and_roles_at_phone_width(
    browser: Browser, published: PushedModel, victor: Gateway, screenshots: Path
) -> None:
    owner = published.owner
    org = f"{owner.username}-lab"
    page = await signed_in_page(browser, owner)
    await page.goto("/orgs")
    await page.get_by_label("Name").fill(org)
    await page.get_by_role("button", name="Create organisation").click()
    await expect(page).to_have_url(f"{owner.url}/orgs/{org}")
    members = page.locator("#members")
    await members.get_by_label("Username").fill("no-such-user-here")
    await members.get_by_label("Role", exact=True).select_option("reader")
    await members.get_by_role("button", name="Add member").click()
    await expect(page.locator("#username-error")).to_be_visible()
    await expect(members.get_by_label("Username")).to_have_attribute("aria-invalid", "true")
    await members.get_by_label("Username").fill(victor.username)
    await members.get_by_role("button", name="Add member").click()
    row = members.locator("tr").filter(has_text=victor.username)
    await expect(row.get_by_label(f"Role of {victor.username}", exact=True)).to_have_value("reader")
    await row.get_by_label(f"Role of {victor.username}", exact=True).select_option("maintainer")
    await row.get_by_role("button", name=f"Change the role of {victor.username}").click()
    await expect(row.get_by_label(f"Role of {victor.username}", exact=True)).to_have_value(
        "maintainer"
    )
    await page.context.close()

    phone = await signed_in_page(browser, victor, phone=True)
    await phone.goto("/orgs")
    await expect(phone.locator(".org-list")).to_contain_text(f"{org} maintainer")
    await phone.get_by_role("link", name=org).click()
    await expect(phone.get_by_role("heading", level=1)).to_have_text(org)
    await expect(phone.get_by_role("button", name="Add member")).to_have_count(0)
    width = await phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"the organisation page is {width}px wide at 360px"
    await shoot(phone, screenshots, "org-phone")
    await phone.context.close()


async def test_review_queue_and_catalog_by_rating(
    browser: Browser, published: PushedModel, victor: Gateway, admin: Gateway, screenshots: Path
) -> None:
    granted = await admin.http.put(
        f"/v1/users/{victor.username}/publisher", json={"publisher": True}
    )
    assert granted.status_code == 200, explain(granted)
    page = await signed_in_page(browser, victor)
    await page.goto("/")
    # The navigation by keyboard: the skip link first, then the links in order.
    await page.keyboard.press("Tab")
    await page.keyboard.press("Tab")
    for _ in range(6):
        await page.keyboard.press("Tab")
        focused = await page.evaluate("document.activeElement.textContent.trim()")
        if focused == "Reviews":
            break
    assert focused == "Reviews", "the review queue is not reachable by keyboard"
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Publish requests")
    # The shared model's request was approved (conftest.py `published`), so the queue is empty
    # and says so; deciding a request in the browser is test_web_ui_reviews.py.
    await expect(page.locator("main")).to_contain_text("No request is waiting.")
    await page.get_by_role("link", name="Approved").click()
    await expect(page).to_have_url(re.compile(r"/reviews\?status=approved$"))
    await shoot(page, screenshots, "reviews")

    await page.goto("/")
    await page.get_by_label("Order").select_option("rating")
    await expect(page).to_have_url(re.compile("sort=rating"))
    await expect(page.get_by_label("Order")).to_have_value("rating")
    await expect(page.locator("#results .card").first).to_be_visible()
    await page.context.close()
