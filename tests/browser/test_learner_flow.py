"""The README's walk-through in a real Chromium, on the learner's side of the demo LMS (a separate
app, a client of ProctorFlow's API): pick a demo learner, open the proctored lesson, ProctorFree's
three set-up steps, the quiz ProctorFree returns the learner to, FINISH and its confirmation;
ProctorFree audits, a reviewer passes the proctoring (through the API), and the lesson page shows
the lesson completed, live, from the events the demo LMS received.

Screenshots of each step go to tests/artifacts/screenshots/ (git-ignored)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from tests.api.helpers import decide, proctored_course, review_task_of
from tests.demo_lms.support import serving_demo_lms
from tests.support.stack import Stack, running_stack

pytestmark = pytest.mark.browser

VIEWPORT = {"width": 1100, "height": 820}
INSTRUCTIONS = "Clear your desk and close other applications."  # tests.api.helpers.proctored_course


class Camera:
    """Numbered full-page screenshots, in the order the learner saw the pages."""

    def __init__(self, folder: Path, prefix: str) -> None:
        self.folder, self.prefix, self.count = folder, prefix, 0

    async def shoot(self, page: Page, step: str) -> None:
        self.count += 1
        await page.screenshot(path=self.folder / f"{self.prefix}-{self.count:02d}-{step}.png", full_page=True)


async def test_a_learner_takes_a_proctored_exam_in_the_demo_lms_and_sees_it_completed_from_events(
    dev_server, tmp_path, browser: Browser, screenshots: Path
):
    camera = Camera(screenshots, "learner-flow")
    async with running_stack(dev_server.client, tmp_path) as stack:
        course_id, _ = await proctored_course(stack.api, method="full", requires_validation=True)
        async with serving_demo_lms(stack, courses=course_id) as demo:
            context = await browser.new_context(viewport=VIEWPORT, base_url=demo.base_url)
            context.set_default_timeout(15_000)
            page = await context.new_page()
            try:
                await open_the_lesson_as_a_demo_learner(page, camera)
                attempt_id = await set_up_in_proctorfree_and_take_the_quiz(stack, demo.base_url, page, camera)
                await press_finish_in_the_proctorfree_window(page, camera)

                # Back on the lesson page, which follows the attempt from the events it receives.
                await page.get_by_role("link", name="Follow this lesson's progress").click()
                status = page.locator("#attempt-status")
                await expect(status).to_contain_text("Awaiting audit")
                await camera.shoot(page, "lesson-awaiting-audit")

                # ProctorFree's auditor finishes; a reviewer passes the proctoring.
                attempt = (await stack.api.get(f"/attempts/{attempt_id}")).json()
                await stack.control("audit", attempt["vendor_session_id"], outcome="clean")
                task = await review_task_of(stack, attempt_id, "ready_for_review")
                await expect(status).to_contain_text("Ready for review")
                await decide(stack, task["id"], "pass")

                await expect(page.locator("#lesson-completion")).to_have_text(
                    "completed (100%), proctoring passed"
                )
                await expect(status).to_contain_text("Completed")
                await expect(page.locator("#course-completion")).to_have_text("completed")
                await expect(page.locator("#certificate")).to_have_text("issued")
                events = page.locator("#events-received")
                await expect(events.locator('[data-event-type="lesson.completed"]')).to_have_count(1)
                await camera.shoot(page, "lesson-completed")
            finally:
                await context.close()
            assert "lesson.completed" in demo.ledger.types_received()  # by delivery, nothing else


async def open_the_lesson_as_a_demo_learner(page: Page, camera: Camera) -> None:
    await page.goto("/")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Who is learning?")
    await camera.shoot(page, "who")
    await page.get_by_role("button", name="Continue as Ada Lovelace").click()
    await page.get_by_role("link", name="Certified Widget Engineer").click()
    await expect(page.locator("#lessons")).to_contain_text("not completed yet")
    await camera.shoot(page, "course")
    await page.get_by_role("link", name="Open lesson").click()

    # The proctoring page: lesson name, the custom instructions, then the set-up button, which
    # appears as soon as ProctorFlow has ProctorFree's set-up link.
    await expect(page.get_by_role("heading", level=1)).to_have_text("Final exam")
    await expect(page.get_by_text(INSTRUCTIONS)).to_be_visible()
    await expect(page.get_by_text("Ada Lovelace, attempt 1")).to_be_visible()
    await expect(page.get_by_role("link", name="Set up Proctoring")).to_be_visible()
    assert "ada.lovelace" not in page.url and "ada.lovelace" not in await page.content()
    await camera.shoot(page, "lesson")
    await page.get_by_role("link", name="Set up Proctoring").click()


async def set_up_in_proctorfree_and_take_the_quiz(
    stack: Stack, demo_url: str, page: Page, camera: Camera
) -> str:
    """ProctorFree's three steps, then the demo LMS's quiz; returns the attempt id."""
    await page.wait_for_url(f"{stack.emulator_url}/s/*/setup")
    await camera.shoot(page, "proctorfree-setup")
    await page.click("#run-compat")
    await expect(page.get_by_text("Your system is compatible.")).to_be_visible()
    await page.click("#to-profile")
    await page.click("#take-photo")
    await expect(page.get_by_text("Profile photo captured.")).to_be_visible()
    await camera.shoot(page, "proctorfree-profile")
    await page.click("#to-start")
    await page.check("#attest")
    await camera.shoot(page, "proctorfree-start")
    await page.click("#confirm-start")

    # ProctorFree returns the learner to the organisation's LMS return URL: the demo LMS's quiz.
    await page.wait_for_url(f"{demo_url}/attempts/*/quiz")
    attempt_id = page.url.rsplit("/", 2)[-2]
    for answer in ("The spindle", "Once a month", "Safety yellow"):
        await page.get_by_label(answer).check()
    await camera.shoot(page, "quiz-answered")
    await page.get_by_role("button", name="Submit answers").click()

    await expect(page.locator("#exam-result")).to_contain_text("100%")
    await expect(page.get_by_text("Now press FINISH in the ProctorFree window, and confirm.")).to_be_visible()
    await camera.shoot(page, "quiz-result")
    exam = (await stack.api.get(f"/attempts/{attempt_id}")).json()["exam"]
    assert exam == {"score": 100.0, "passed": True}
    return attempt_id


async def press_finish_in_the_proctorfree_window(page: Page, camera: Camera) -> None:
    """The window opens beside the quiz, as ProctorFree's app does; FINISH asks "are you sure?"."""
    async with page.context.expect_page() as opened:
        await page.get_by_role("link", name="Open the ProctorFree window").click()
    window = await opened.value
    await window.wait_for_load_state()
    await window.click("#finish")
    await expect(window.get_by_text("Are you sure?")).to_be_visible()
    await camera.shoot(window, "proctorfree-finish-confirm")
    await window.click("#finish-confirm")
    await expect(window.get_by_text("Proctoring session ended.")).to_be_visible()
    await camera.shoot(window, "proctorfree-ended")
    await window.close()
