"""The audit log page in a real Chromium: reached from the header by keyboard, styled under its
Content-Security-Policy with nothing refused, and filtered with its labelled control."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from store import audit
from store.db import transaction
from tests.browser_review.test_reviewer_flow import screenshot, sign_in, tab_to
from tests.review.world import ReviewWorld

pytestmark = pytest.mark.browser


async def test_the_audit_log_is_reached_by_keyboard_shows_the_sign_in_and_filters(
    page: Page, world: ReviewWorld
):
    refused: list[str] = []
    page.on(
        "console",
        lambda message: refused.append(message.text) if "Content Security" in message.text else None,
    )
    with transaction(world.stack.sessions) as session:
        audit.record(
            session,
            world.org,
            "LMS production",
            "token",
            "token.created",
            "tokens/t-1",
            "10.0.0.7",
            {"name": "Nightly sync"},
        )
    await sign_in(page, world)

    await tab_to(page, 'header nav a[href="/review/audit-log"]')
    await page.keyboard.press("Enter")
    await page.wait_for_url("**/review/audit-log")
    await expect(page.get_by_role("heading", name="Audit log")).to_be_visible()
    login = page.locator('tr[data-action="reviewer.login"]')
    await expect(login).to_have_count(1)
    await expect(login).to_contain_text(world.username)
    await expect(login).to_contain_text("127.0.0.1")
    brand = await page.evaluate(
        "() => getComputedStyle(document.querySelector('header.bar')).backgroundColor"
    )
    assert brand == "rgb(18, 53, 91)", "the stylesheet did not apply"
    await screenshot(page, "audit-log")

    await page.get_by_label("Action").select_option(label="token: all")
    await page.get_by_role("button", name="Apply filter").click()
    await page.wait_for_url("**/review/audit-log?action=token.")
    await expect(page.locator("tbody tr")).to_have_count(1)
    await expect(page.locator('tr[data-action="token.created"]')).to_contain_text("Nightly sync")
    assert not refused, refused
