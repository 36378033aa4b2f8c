"""Browser fixtures: Playwright for Python driving Debian's `chromium` package.

The browser is the system's (`/usr/bin/chromium`, installed by scripts/bootstrap.sh); nothing
is downloaded (`playwright install` is never run). A missing browser fails the session naming
the package, never skips. Each test gets fresh browser contexts (cookies), one per user.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, async_playwright

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
