"""Claiming in a real Chromium, on the whole running system: a reviewer finds a ready task in the
"Unassigned" view, claims it by keyboard, passes it, and finds both in the audit log; the pages
are styled under their Content-Security-Policy with nothing refused."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect

from tests.browser_review.test_reviewer_flow import screenshot, sign_in, status_message, tab_to
from tests.review.world import ReviewWorld

pytestmark = pytest.mark.browser


async def test_a_reviewer_claims_a_ready_task_decides_it_and_finds_both_in_the_audit_log(
    page: Page, world: ReviewWorld
):
    refused: list[str] = []
    page.on(
        "console",
        lambda message: refused.append(message.text) if "Content Security" in message.text else None,
    )
    taken, task = await world.ready_task("Ada Lovelace")
    await sign_in(page, world)

    views = page.get_by_role("navigation", name=re.compile("^Task views"))
    await views.get_by_role("link", name="Unassigned (1)").click()
    await page.wait_for_url("**/review/tasks?show=open&view=unassigned")
    await expect(views.get_by_role("link", name="Unassigned (1)")).to_have_attribute("aria-current", "page")
    row = page.locator(f'tr[data-task-id="{task.id}"]')
    await expect(row.locator("td.assignee")).to_have_text("Unassigned")
    await expect(row.locator("td.priority")).to_have_text("Normal")
    await screenshot(page, "claim-01-unassigned-view")

    await row.get_by_role("link", name="Proctoring Review").click()
    await expect(page.locator("#holder")).to_contain_text("Nobody holds this task.")
    await page.locator("h1").click()  # start from the page, not the address bar
    await tab_to(page, "#claim-form button")
    await page.keyboard.press("Enter")
    await expect(status_message(page)).to_contain_text(f"Claimed: held by {world.username} until")
    await expect(page.locator("#holder")).to_contain_text("You hold this task")
    await expect(page.get_by_role("button", name="Release")).to_be_visible()
    await expect(page.locator("#timeline")).to_contain_text(f"Claimed by {world.username}")
    await screenshot(page, "claim-02-task-claimed")

    await page.get_by_label("I have reviewed the session").check()
    await page.get_by_role("button", name="Pass Proctoring").click()
    await expect(status_message(page)).to_have_text(
        "Proctoring passed; lesson completed, course completed, certificate issued."
    )
    await expect(page.locator("#decided")).to_contain_text(f"passed by {world.username}")
    await expect(page.locator("#claim")).to_have_count(0)  # nothing left to hold
    assert world.task(taken.attempt_id).state == "passed"

    await page.get_by_role("navigation", name="Reviewer").get_by_role("link", name="Audit log").click()
    await page.wait_for_url("**/review/audit-log")
    claimed = page.locator('tr[data-action="review_task.claimed"]')
    decided = page.locator('tr[data-action="review_task.decided"]')
    await expect(claimed).to_have_count(1)
    await expect(decided).to_have_count(1)
    for entry in (claimed, decided):
        await expect(entry).to_contain_text(world.username)
        await expect(entry).to_contain_text(task.id)
        await expect(entry.locator("td").nth(4)).to_have_text("ui")  # "From": the reviewer UI
    await expect(claimed.locator("dd")).to_have_text(world.username)  # its detail: who holds it
    await expect(decided.locator("dd")).to_have_text("pass")
    order = await page.locator("tbody tr").evaluate_all("rows => rows.map(row => row.dataset.action)")
    assert order.index("review_task.decided") < order.index("review_task.claimed"), order  # newest first
    await screenshot(page, "claim-03-audit-log")
    assert not refused, refused
