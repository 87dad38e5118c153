"""The learner's whole journey in a real Chromium, as the source article tells it: the proctoring
page, "Set up Proctoring", ProctorFree's three setup steps, the quiz, FINISH and its confirmation;
then the review task waits for ProctorFree's audit and becomes ready for review.

Screenshots of each step go to tests/artifacts/screenshots/ (git-ignored)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect
from sqlmodel import select

from models.api import LessonIn
from models.tables import ReviewTask
from tests.learn.support import INSTRUCTIONS, eventually, exam_lesson, seed_course, stored
from tests.support.stack import Stack, running_stack

pytestmark = pytest.mark.browser

VIEWPORT = {"width": 1100, "height": 820}


class Camera:
    """Numbered full-page screenshots, in the order the learner saw the pages."""

    def __init__(self, folder: Path, prefix: str) -> None:
        self.folder, self.prefix, self.count = folder, prefix, 0

    async def shoot(self, page: Page, step: str) -> None:
        self.count += 1
        await page.screenshot(path=self.folder / f"{self.prefix}-{self.count:02d}-{step}.png", full_page=True)


async def test_a_learner_sets_up_proctoring_takes_the_quiz_and_finishes_into_a_review_task(
    dev_server, tmp_path, browser: Browser, screenshots: Path
):
    camera = Camera(screenshots, "learner-flow")
    async with running_stack(dev_server.client, tmp_path) as stack:
        seed_course(stack, [exam_lesson(required=True)], {"exam": ("full", True)})
        context = await browser.new_context(viewport=VIEWPORT, base_url=stack.base_url)
        page = await context.new_page()
        try:
            attempt_id = await take_the_proctored_exam(stack, page, camera)
            await press_finish_in_the_proctorfree_window(page, camera)

            # "Skilljar creates a proctoring review task when a learner has finished their exam."
            task = await review_task_state(stack, attempt_id, "not_ready")
            assert task.type == "Proctoring Review"
            await page.goto(f"/learn/attempts/{attempt_id}")
            await expect(page.locator("#attempt-status")).to_contain_text("Awaiting audit")
            await camera.shoot(page, "status-awaiting-audit")

            # ProctorFree's auditor finishes; its webhook (or the poll) makes the task reviewable,
            # and the status page, refreshing itself, says so.
            await stack.control("audit", stored(stack, attempt_id).vendor_session_id, outcome="clean")
            await review_task_state(stack, attempt_id, "ready_for_review")
            await expect(page.locator("#attempt-status")).to_contain_text("Ready for review", timeout=15_000)
            await camera.shoot(page, "status-ready-for-review")
        finally:
            await context.close()


async def take_the_proctored_exam(stack: Stack, page: Page, camera: Camera) -> str:
    """From the demo's index to a submitted quiz; returns the attempt id."""
    await page.goto("/learn/")
    await page.get_by_label("Name").fill("Ada Lovelace")
    await page.get_by_label("E-mail").fill("ada.lovelace@example.org")
    await camera.shoot(page, "index")
    await page.get_by_role("button", name="Use this learner").click()
    await page.get_by_role("link", name="Open lesson as learner").click()

    # The proctoring page: lesson name, the custom instructions, then the set-up button.
    await expect(page.get_by_role("heading", level=1)).to_have_text("Widget Safety Final Exam")
    await expect(page.get_by_text(INSTRUCTIONS.splitlines()[0])).to_be_visible()
    await expect(page.get_by_text("Ada Lovelace, attempt 1")).to_be_visible()
    assert "ada.lovelace" not in page.url and "ada.lovelace" not in await page.content()
    await camera.shoot(page, "lesson")
    await page.get_by_role("link", name="Set up Proctoring").click()

    # ProctorFree: compatibility test, profile photo, attest and start.
    await page.wait_for_url(f"{stack.emulator_url}/s/*/setup")
    await camera.shoot(page, "proctorfree-setup")
    await page.click("#run-compat")
    await expect(page.get_by_text("Your system is compatible.")).to_be_visible()
    await camera.shoot(page, "proctorfree-compatible")
    await page.click("#to-profile")
    await page.click("#take-photo")
    await expect(page.get_by_text("Profile photo captured.")).to_be_visible()
    await camera.shoot(page, "proctorfree-profile")
    await page.click("#to-start")
    await page.check("#attest")
    await camera.shoot(page, "proctorfree-start")
    await page.click("#confirm-start")

    # Back in the LMS: the lesson content and its quiz.
    await page.wait_for_url(f"{stack.base_url}/learn/attempts/*/exam")
    attempt_id = page.url.rsplit("/", 2)[-2]
    for answer in ("The spindle", "Once a month", "Safety yellow"):
        await page.get_by_label(answer).check()
    await camera.shoot(page, "quiz-answered")
    await page.get_by_role("button", name="Submit answers").click()

    await expect(page.locator("#exam-result")).to_contain_text("100%")
    await expect(page.get_by_text("Now press FINISH in the ProctorFree window, and confirm.")).to_be_visible()
    await camera.shoot(page, "quiz-result")
    attempt = stored(stack, attempt_id)
    assert (attempt.exam_score, attempt.exam_passed) == (100, True)
    return attempt_id


async def press_finish_in_the_proctorfree_window(page: Page, camera: Camera) -> None:
    """The window opens beside the exam, as ProctorFree's app does; FINISH asks "are you sure?"."""
    async with page.context.expect_page() as opened:
        await page.get_by_role("link", name="Open the ProctorFree window").click()
    window = await opened.value
    await window.wait_for_load_state()
    await camera.shoot(window, "proctorfree-window")
    await window.click("#finish")
    await expect(window.get_by_text("Are you sure?")).to_be_visible()
    await camera.shoot(window, "proctorfree-finish-confirm")
    await window.click("#finish-confirm")
    await expect(window.get_by_text("Proctoring session ended.")).to_be_visible()
    await camera.shoot(window, "proctorfree-ended")
    await window.close()


async def test_a_reload_after_finish_shows_the_attempt_finished_and_offers_a_retake_where_allowed(
    dev_server, tmp_path, browser: Browser, screenshots: Path
):
    camera = Camera(screenshots, "retake")
    async with running_stack(dev_server.client, tmp_path) as stack:
        video = LessonIn(id="intro", title="Welcome video", type="video")
        course = seed_course(stack, [video, exam_lesson(retakes=True)], {"exam": ("record_only", False)})
        context = await browser.new_context(viewport=VIEWPORT, base_url=stack.base_url)
        page = await context.new_page()
        try:
            await page.goto(f"{course.lesson_path('exam')}?learner_id=learner-grace&name=Grace+Hopper")
            setup_url = await page.get_by_role("link", name="Set up Proctoring").get_attribute("href")
            attempt_id = setup_url.rsplit("/", 2)[-2]
            # The learner's ProctorFree steps, scripted through the emulator's control API this time.
            session_id = await vendor_session(stack, attempt_id)
            await stack.control("start", session_id)
            await stack.control("finish", session_id)
            await eventually(lambda: stored(stack, attempt_id).status == "finished", "FINISH")

            await page.reload()
            await expect(page.get_by_text("You have finished this attempt.")).to_be_visible()
            await camera.shoot(page, "lesson-finished")
            await page.get_by_role("link", name="Retake the exam (attempt 2)").click()
            await expect(page.get_by_text("Grace Hopper, attempt 2")).to_be_visible()
            await expect(page.get_by_role("link", name="Set up Proctoring")).to_be_visible()
            await camera.shoot(page, "lesson-retake")

            await page.goto(course.lesson_path("intro"))
            await expect(page.get_by_role("alert")).to_contain_text("is not proctored")
            await camera.shoot(page, "refused-not-proctored")
        finally:
            await context.close()


async def review_task_state(stack: Stack, attempt_id: str, state: str) -> ReviewTask:
    """The attempt's review task, read from the database, once it is in `state`."""

    def task_in_state() -> ReviewTask | None:
        with stack.sessions() as session:
            task = session.exec(select(ReviewTask).where(ReviewTask.attempt_id == attempt_id)).first()
        return task if task is not None and task.state == state else None

    return await eventually(task_in_state, f"a review task in state {state}", timeout=30)


async def vendor_session(stack: Stack, attempt_id: str) -> str:
    return await eventually(lambda: stored(stack, attempt_id).vendor_session_id, "a ProctorFree session")
