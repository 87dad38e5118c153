"""A real Chromium for the reviewer UI, driven through Playwright's async API (never its sync
pytest fixtures, which break the asyncio tests that run after them), launched from the Debian
package: `playwright install` is never run. The whole system runs behind it."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright

from tests.review.world import ReviewWorld
from tests.support.stack import Stack, running_stack

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but {CHROMIUM} is missing: the Debian chromium package must be installed")
        pytest.skip(f"the reviewer-UI browser tests need Chromium at {CHROMIUM} (apt-get install chromium)")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture(scope="module")
async def stack(dev_server, tmp_path_factory) -> AsyncIterator[Stack]:
    async with running_stack(dev_server.client, tmp_path_factory.mktemp("review-browser")) as running:
        yield running


@pytest.fixture
def world(stack: Stack) -> ReviewWorld:
    """An organisation of its own per test, with its course and reviewer."""
    return ReviewWorld(stack).seed()


@pytest.fixture
async def page(browser: Browser, world: ReviewWorld) -> AsyncIterator[Page]:
    context = await browser.new_context(base_url=world.base_url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(20_000)
    opened = await context.new_page()
    try:
        yield opened
    finally:
        await context.close()
