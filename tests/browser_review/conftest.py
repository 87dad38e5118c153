"""A real Chromium for the reviewer UI (tests/support/browser.py), the whole system behind it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Page

from tests.review.world import ReviewWorld
from tests.support.browser import chromium
from tests.support.stack import Stack, running_stack


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with chromium("the reviewer-UI browser tests") as launched:
        yield launched


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
