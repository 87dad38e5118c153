"""Accommodations and staff actions in a real Chromium, on the whole running system: a reviewer
uploads a CSV file of accommodations with a bad row (the good rows apply, the bad one is reported
by its line), resets a failed attempt with a reason (it shows as voided), and adds time to a
running session with a double click (added once). Screenshots land beside the reviewer flow's,
in tests/artifacts/screenshots/review/."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect
from sqlmodel import select

from models.tables import Accommodation
from tests.browser_review.test_reviewer_flow import screenshot, sign_in, status_message
from tests.review.world import COURSE, COURSE_TITLE, EXAM, ReviewWorld

pytestmark = pytest.mark.browser

CSV = (
    "learner_id,extra_minutes,time_multiplier,lesson_ids,expires_at,note\n"
    "learner-ada,30,,,,Reader allowed\n"
    "learner-alan,,9,,,\n"
    f"learner-grace,,1.5,{EXAM},2030-06-30,Separate room\n"
)


def watch_csp(page: Page) -> list[str]:
    refused: list[str] = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security" in m.text else None)
    return refused


def accommodations_of(world: ReviewWorld) -> dict[str, Accommodation]:
    with world.stack.sessions() as session:
        found = session.exec(select(Accommodation).where(Accommodation.org_id == world.org)).all()
        return {row.learner_id: row for row in found}


async def test_an_uploaded_csv_applies_its_good_rows_and_reports_the_bad_one_by_its_line(
    page: Page, world: ReviewWorld
):
    world.limit_time(60)
    refused = watch_csp(page)
    await sign_in(page, world)
    await page.get_by_role("navigation", name="Reviewer").get_by_role("link", name="Courses").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Courses")
    await page.get_by_role("link", name=f"0 accommodations in {COURSE_TITLE}").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(f"Accommodations: {COURSE_TITLE}")
    await expect(page.locator("#accommodation-count")).to_have_text(
        "No learner has an accommodation in this course."
    )

    upload = page.locator("#upload-form")
    await upload.get_by_label("CSV file").set_input_files(
        files=[{"name": "autumn.csv", "mimeType": "text/csv", "buffer": CSV.encode()}]
    )
    await upload.get_by_label("Reason for these changes").fill("Disability office letters, autumn term")
    await screenshot(page, "13-accommodations-upload")
    await upload.get_by_role("button", name="Upload and apply").click()

    await expect(page.get_by_role("heading", level=1)).to_have_text(
        "Upload: 2 accommodations applied, 1 refused"
    )
    bad = page.locator("#refused tbody tr")
    await expect(bad).to_have_count(1)
    await expect(bad.get_by_role("rowheader")).to_have_text("Line 3")
    await expect(bad).to_contain_text("learner-alan")
    await expect(bad.locator(".why")).to_have_text(
        "the time multiplier must be more than 1 and at most 4, not 9"
    )
    applied = page.locator("#applied tbody tr")
    await expect(applied).to_have_count(2)
    await expect(applied.nth(0)).to_contain_text("Line 2")
    await expect(applied.nth(0)).to_contain_text("Final exam: 90 minutes")
    await expect(applied.nth(1)).to_contain_text("Line 4")
    await screenshot(page, "14-accommodations-upload-result")

    kept = accommodations_of(world)
    assert set(kept) == {"learner-ada", "learner-grace"}
    assert (kept["learner-ada"].extra_minutes, kept["learner-ada"].updated_by) == (30, world.username)
    assert (kept["learner-grace"].time_multiplier, kept["learner-grace"].lesson_ids) == (1.5, [EXAM])

    await page.get_by_role("link", name=f"Back to the accommodations of {COURSE_TITLE}").click()
    await expect(page.locator("#accommodation-count")).to_have_text("2 learners.")
    ada = page.locator('tr[data-learner-id="learner-ada"]')
    await expect(ada.locator(".extra-time")).to_have_text("+30 minutes")
    await expect(ada.locator(".state")).to_have_text("In force")
    await expect(ada.locator(".note")).to_have_text("Reader allowed")
    grace = page.locator('tr[data-learner-id="learner-grace"]')
    await expect(grace.locator(".extra-time")).to_have_text("× 1.5")
    await expect(grace.locator(".lessons")).to_have_text("Final exam")
    await expect(page.locator('tr[data-learner-id="learner-alan"]')).to_have_count(0)
    await screenshot(page, "15-accommodations-list")
    assert not refused, refused


async def test_a_reviewer_resets_a_failed_attempt_with_a_reason_and_it_shows_as_voided(
    page: Page, world: ReviewWorld
):
    refused = watch_csp(page)
    taken, task = await world.ready_task("Hedy Lamarr")
    await sign_in(page, world, f"/review/tasks/{task.id}")
    await page.get_by_label("I have reviewed the session").check()
    await page.get_by_role("button", name="Fail Proctoring").click()
    await expect(status_message(page)).to_contain_text("Proctoring failed")
    await world.wait_for_attempt(taken.attempt_id, "completed")

    await page.get_by_role("link", name="Attempt 1 and staff actions").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Attempt 1: Hedy Lamarr")
    await expect(page.locator("#attempt-status")).to_have_text("Completed")
    await expect(page.locator("form.action h3")).to_have_text(["Reset attempt", "Void attempt"])

    reset = page.locator("#reset-form")
    await reset.get_by_label("Reason").fill("Webcam broke mid-exam; retake agreed with the learner")
    await screenshot(page, "16-attempt-reset")
    await reset.get_by_role("button", name="Reset attempt").click()

    await expect(status_message(page)).to_have_text(
        "Attempt voided: the learner may open the next attempt (retakes allowed for it)."
    )
    await expect(page.locator("#attempt-status")).to_have_text("Voided")
    await expect(page.locator("#retake")).to_contain_text("the learner may open attempt 2")
    last_step = page.locator("#timeline li").last
    await expect(last_step).to_contain_text("Reset by staff")
    await expect(last_step).to_contain_text(f"by {world.username}: Webcam broke mid-exam; retake agreed")
    await expect(page.locator("form.action")).to_have_count(0)
    await expect(page.locator("#no-actions")).to_have_text("No staff action applies to a voided attempt.")
    await screenshot(page, "17-attempt-voided")
    attempt = world.attempt(taken.attempt_id)
    assert (attempt.status, attempt.retake_granted) == ("voided", True)

    await page.get_by_role("link", name="Course progress of Hedy Lamarr").click()
    row = page.locator(f'tr[data-attempt-id="{taken.attempt_id}"]')
    await expect(row).to_contain_text("Voided")
    assert not refused, refused


async def test_time_added_with_a_double_click_is_added_once(page: Page, world: ReviewWorld):
    world.limit_time(60)
    taken = await world.learner_starts("Grace Hopper")
    await sign_in(page, world, f"/review/courses/{COURSE}/learners/{taken.learner_id}")
    await page.get_by_role("link", name="Attempt 1 of Final exam").click()
    await expect(page.locator("#allowed-minutes")).to_have_text("60 minutes")

    form = page.locator("#extend-form")
    await form.get_by_label("Minutes to add").fill("15")
    await form.get_by_label("Reason").fill("Fire alarm during the exam")
    # A second press while the first is on its way (the page has not changed yet) sends the form again.
    button = form.get_by_role("button", name="Add time")
    box = await button.bounding_box()
    assert box is not None
    async with page.expect_request(re.compile(r"/extend$")):
        await page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    await page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)

    await expect(status_message(page)).to_have_text(
        "15 minutes added: the session now ends 75 minutes after its start."
    )
    await expect(page.locator("#allowed-minutes")).to_have_text("75 minutes")
    await expect(page.locator("#timeline li", has_text="Time added")).to_have_count(1)
    await screenshot(page, "18-attempt-time-added")
    assert world.attempt(taken.attempt_id).allowed_minutes == 75
    assert re.search(r"/review/attempts/[^/]+$", page.url)
