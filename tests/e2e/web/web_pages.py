"""What a person does in the browser, as small steps the web tests share."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from e2e_client import Gateway
from playwright.async_api import Browser, BrowserContext, Page, expect

PHONE = {"width": 360, "height": 780}
# The model card of the shared model: what it shows is checked, what it hides must stay inert.
HOSTILE_CARD = """# Iris {word}

Classifies iris flowers from four measurements of their petals and sepals.

<script>window.__injected = "script tag";</script>
<img src=x onerror="window.__injected = 'img onerror'">
[a javascript link](javascript:window.__injected='javascript-link')
[documentation](https://example.org/iris)
"""


@dataclass
class PushedModel:
    """The one model the web tests share (pushed once per session, conftest.py)."""

    owner: Gateway
    name: str
    version: int
    word: str  # in the published description only: finds the model once it is public


def model_path(model: PushedModel) -> str:
    return f"/models/{model.owner.username}/{model.name}"


DESKTOP = {"width": 1280, "height": 900}


async def signed_in_page(browser: Browser, gateway: Gateway, *, phone: bool = False) -> Page:
    """A fresh browser context (no cookies) in which `gateway`'s user signs in by the form."""
    context: BrowserContext = await browser.new_context(
        base_url=gateway.url,
        viewport=PHONE if phone else DESKTOP,
        permissions=["clipboard-read", "clipboard-write"],
    )
    page = await context.new_page()
    await page.goto("/signin")
    await page.get_by_label("Username").fill(gateway.username)
    await page.get_by_label("API token").fill(gateway.token)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_text(f"Signed in as {gateway.username}")).to_be_visible()
    return page


async def shoot(page: Page, directory: Path, name: str, *, full_page: bool = True) -> Path:
    path = directory / f"{name}.png"
    await page.screenshot(path=str(path), full_page=full_page)
    return path


def main_text(html_text: str) -> str:
    return " ".join(html_text.split())
