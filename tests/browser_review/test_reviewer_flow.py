"""A reviewer works through the queue in a real Chromium, on the whole running system: real
workflows on the Temporal dev server, ProctorFree's emulator auditing sessions and sending its
signed webhooks. Screenshots of each step land in tests/artifacts/screenshots/review/."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import Browser, Locator, Page, expect

from tests.review.world import COURSE, EXAM, PASSWORD, ReviewWorld

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(__file__).parent.parent / "artifacts" / "screenshots" / "review"


async def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


async def sign_in(page: Page, world: ReviewWorld, path: str = "/review/tasks") -> None:
    await page.goto(path)
    await page.get_by_label("Username").fill(world.username)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(f"**{path}")


async def tab_to(page: Page, selector: str, most: int = 40) -> None:
    """Press Tab until the element has the keyboard focus, and check the focus is visible."""
    for _ in range(most):
        await page.keyboard.press("Tab")
        if await page.evaluate("s => document.activeElement === document.querySelector(s)", selector):
            outline = await page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
            assert outline != "none", f"{selector} has the focus but shows no focus outline"
            return
    raise AssertionError(f"{selector} was not reached with {most} presses of Tab")


def status_message(page: Page) -> Locator:
    return page.locator("p.flash")


async def test_an_anonymous_visit_goes_to_the_login_page_and_signing_out_ends_the_session(
    page: Page, world: ReviewWorld
):
    await page.goto("/review/tasks?show=all")
    await expect(page).to_have_url(re.compile(r"/review/login\?next=/review/tasks%3Fshow%3Dall$"))
    await expect(page.get_by_role("heading", name="Sign in to review proctoring")).to_be_visible()
    await page.get_by_label("Username").fill(world.username)
    await page.get_by_label("Password").fill("not my password")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("#login-error")).to_have_text("Wrong username or password.")
    await screenshot(page, "01-login-refused")

    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(re.compile(r"/review/tasks\?show=all$"))
    await expect(page.get_by_role("heading", level=1)).to_have_text("Proctoring Review tasks")
    await expect(page.locator("header")).to_contain_text("Signed in as Rita Reviewer")
    await expect(page.locator("#task-count")).to_have_text("No tasks match these filters.")
    await screenshot(page, "02-empty-queue")

    await page.get_by_role("button", name="Sign out").click()
    await expect(status_message(page)).to_have_text("You are signed out.")
    await page.goto("/review/tasks")
    await expect(page).to_have_url(re.compile(r"/review/login\?next="))


async def test_a_task_turns_ready_when_the_audit_lands_and_passing_it_by_keyboard_completes_the_course(
    page: Page, world: ReviewWorld
):
    taken = await world.learner_finishes("Ada Lovelace", score=91)
    task = world.task(taken.attempt_id)
    await sign_in(page, world)
    row = page.locator(f'tr[data-task-id="{task.id}"]')
    await expect(row).to_contain_text("Ada Lovelace")
    await expect(row).to_contain_text("Not ready")
    await screenshot(page, "03-queue-not-ready")

    await row.get_by_role("link", name="Proctoring Review").click()
    await expect(page.locator("#task-state")).to_contain_text(
        "ProctorFree has not finished auditing this session"
    )
    await expect(page.locator("#task-state")).to_contain_text("expected by")
    await expect(page.get_by_role("button", name="Pass Proctoring")).to_have_count(0)
    await screenshot(page, "04-task-not-ready")

    # ProctorFree's auditor finishes; its webhook (or the workflow's poll) makes the task ready.
    await world.audit_lands(taken)
    await page.reload()
    review_link = page.get_by_role("link", name="Review in Proctoring Service")
    await expect(review_link).to_have_attribute("href", re.compile(f"/review/{taken.session_id}$"))
    await expect(page.locator("#timeline")).to_contain_text("Audited")
    await screenshot(page, "05-task-ready")

    # Keyboard only: tick the confirmation, tab to "Pass Proctoring", press Enter.
    await page.locator("h1").click()  # start from the page, not the address bar
    await tab_to(page, "#reviewed")
    await page.keyboard.press("Space")
    await tab_to(page, 'button[value="pass"]')
    await page.keyboard.press("Enter")
    await expect(status_message(page)).to_have_text(
        "Proctoring passed; lesson completed, course completed, certificate issued."
    )
    await expect(page.locator("#decided")).to_contain_text(f"passed by {world.username}")
    await expect(page.locator("#timeline")).to_contain_text("Proctoring passed")
    await screenshot(page, "06-task-passed")

    await page.locator("#progress-link").click()
    exam = page.locator(f'tr[data-lesson-id="{EXAM}"]')
    await expect(exam.locator(".completion")).to_contain_text("Completed")
    await expect(exam.locator(".proctoring-result")).to_have_text("Passed")
    await expect(exam).to_contain_text("91")
    await expect(page.locator("#course-completion")).to_contain_text("Completed")
    await expect(page.locator("#course-score")).to_have_text("91.0")
    await expect(page.locator("#certificate")).to_contain_text("Issued")
    await screenshot(page, "07-progress-complete")


async def test_a_failed_task_can_be_changed_to_passed_with_re_evaluation_and_the_change_is_audited(
    page: Page, world: ReviewWorld
):
    taken, task = await world.ready_task("Hedy Lamarr")
    await sign_in(page, world, f"/review/tasks/{task.id}")
    await page.get_by_label("I have reviewed the session").check()
    await page.get_by_role("button", name="Fail Proctoring").click()
    await expect(status_message(page)).to_contain_text("Proctoring failed; lesson completed as failed")
    await expect(page.locator("#decided")).to_contain_text("failed by")
    await screenshot(page, "08-task-failed")

    await page.get_by_role("link", name="Hedy Lamarr's course progress").click()
    await expect(page).to_have_url(re.compile(f"/review/courses/{COURSE}/learners/{taken.learner_id}$"))
    exam = page.locator(f'tr[data-lesson-id="{EXAM}"]')
    await expect(exam.locator(".proctoring-result")).to_have_text("Failed")
    await expect(page.locator("#course-completion")).to_contain_text("Not completed")
    await expect(page.locator("#certificate")).to_contain_text("Not issued")

    form = page.locator(f"#change-form-{EXAM}")
    await form.get_by_label("New proctoring result").select_option("passed")
    await form.get_by_label("Reason").fill("The flag was a false positive: the ID card was valid")
    await form.get_by_label("Re-evaluate course completion, success, score and certificate").check()
    await form.get_by_role("button", name="Change proctoring result").click()
    await expect(status_message(page)).to_have_text(
        "Proctoring result changed from failed to passed; course completed; certificate issued."
    )
    await expect(exam.locator(".proctoring-result")).to_have_text("Passed")
    await expect(page.locator("#course-completion")).to_contain_text("Completed")
    await expect(page.locator("#certificate")).to_contain_text("Issued")
    change = page.locator("#changes tbody tr").first
    await expect(change).to_contain_text(world.username)
    await expect(change).to_contain_text("Failed → Passed")
    await expect(change).to_contain_text("The flag was a false positive: the ID card was valid")
    await expect(change).to_contain_text("Yes")
    await screenshot(page, "09-progress-result-changed")


async def test_selected_tasks_are_failed_together_after_a_confirmation(page: Page, world: ReviewWorld):
    (first, one), (second, two) = [await world.ready_task(name) for name in ("Alan Turing", "Grace Hopper")]
    await sign_in(page, world)
    await page.get_by_label("Select the review of Alan Turing, Final exam").check()
    await page.get_by_label("Select the review of Grace Hopper, Final exam").check()
    await screenshot(page, "10-queue-selected")
    await page.get_by_role("button", name="Fail selected").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Fail 2 selected tasks?")
    await screenshot(page, "11-bulk-confirm")

    await page.get_by_label("I have reviewed these sessions").check()
    await page.get_by_role("button", name="Fail 2 tasks").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Fail selected: 2 of 2 decided")
    await expect(page.locator("#outcomes")).to_contain_text("Proctoring failed; lesson completed as failed")
    await screenshot(page, "12-bulk-result")
    assert [world.task(t.attempt_id).state for t in (first, second)] == ["failed", "failed"]


async def test_a_form_post_without_its_csrf_token_is_refused(page: Page, world: ReviewWorld):
    taken, task = await world.ready_task("Katherine Johnson")
    await sign_in(page, world, f"/review/tasks/{task.id}")
    # The browser's own cookies, but not the page's token: what a forged cross-site form sends.
    reply = await page.request.post(
        f"/review/tasks/{task.id}/decision", form={"decision": "pass", "reviewed": "yes"}, max_redirects=0
    )
    assert reply.status == 403
    assert "security token is missing or out of date" in await reply.text()
    assert world.task(taken.attempt_id).state == "ready_for_review"
    await page.reload()
    await expect(page.get_by_role("button", name="Pass Proctoring")).to_be_visible()


async def test_the_pages_work_without_javascript(browser: Browser, world: ReviewWorld):
    taken, task = await world.ready_task("Margaret Hamilton")
    context = await browser.new_context(base_url=world.base_url, java_script_enabled=False)
    try:
        page = await context.new_page()
        await sign_in(page, world, f"/review/tasks/{task.id}")
        await page.get_by_label("I have reviewed the session").check()
        await page.get_by_role("button", name="Pass Proctoring").click()
        await expect(page.locator("#decided")).to_contain_text("passed by")
        assert world.task(taken.attempt_id).state == "passed"
    finally:
        await context.close()


async def test_the_pages_are_styled_under_their_content_security_policy_and_nothing_is_refused(
    page: Page, world: ReviewWorld
):
    """Every page is served with a Content-Security-Policy allowing this origin only: the
    stylesheet applies (it is a file, not inline), and the browser refuses nothing on the pages."""
    refused: list[str] = []
    page.on(
        "console",
        lambda message: refused.append(message.text) if "Content Security" in message.text else None,
    )
    taken = await world.learner_finishes("Grace Hopper")
    await sign_in(page, world)
    for path in ("/review/login", "/review/tasks", f"/review/courses/{COURSE}/learners/{taken.learner_id}"):
        response = await page.goto(path)
        assert (
            response is not None and "frame-ancestors 'none'" in response.headers["content-security-policy"]
        )
        brand = await page.evaluate(
            "() => getComputedStyle(document.querySelector('header.bar')).backgroundColor"
        )
        assert brand == "rgb(18, 53, 91)", f"{path}: the stylesheet did not apply"
    spaced = await page.evaluate("() => getComputedStyle(document.querySelector('section.spaced')).marginTop")
    assert spaced == "24px"
    assert not refused, refused
