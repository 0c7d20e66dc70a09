"""A real headless Chromium (Debian's `chromium`) driven by Playwright, for the page tests.

Playwright's own browser download is never used: the system Chromium is launched with
`executable_path`. Without it the tests skip with one line; on CI (`CI=true`) they fail instead.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ON_CI

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"


def chromium_path() -> str | None:
    """The system Chromium, if there is one."""
    configured = os.environ.get("CHATKIOSK_TEST_CHROMIUM")
    if configured:
        return configured if Path(configured).exists() else None
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def require_browser() -> tuple[Any, str]:
    """Playwright's sync API and the Chromium path, or skip (fail on CI) with the reason."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        reason = "the browser tests need the Python package playwright"
    else:
        path = chromium_path()
        if path is not None:
            return sync_playwright, path
        reason = "the browser tests need Chromium (apt-get install chromium)"
    if ON_CI:
        pytest.fail(reason + " (CI=true: they must run)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def chromium(sqlite_template: Path) -> Iterator[Any]:
    """One headless Chromium for the module's tests.

    Playwright's sync API keeps an event loop running in this thread, so the session fixtures
    that call `asyncio.run` (the migrated SQLite template) must be ready before it starts.
    """
    sync_playwright, path = require_browser()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=path, args=CHROMIUM_FLAGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def run_async(coro: Any) -> Any:
    """Run a coroutine to the end from a test that also drives the browser (in a thread of its own)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result(60)


def screenshot(page: Any, name: str) -> Path:
    """Save a full-page screenshot under test-output/screenshots/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
