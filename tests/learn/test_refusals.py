"""What the learner demo refuses, and how: a message page with a 4xx status that says what to fix,
never the API's JSON and never a 5xx."""

from __future__ import annotations

from models.api import LessonIn
from tests.learn.support import LEARNER, deactivate_integration, exam_lesson, open_lesson, seed_course

# --- opening a lesson ------------------------------------------------------------------------


async def test_a_lesson_without_proctoring_is_refused_with_a_message_page(stack, browser_like):
    course = seed_course(stack, [exam_lesson(), LessonIn(id="intro", title="Intro", type="video")], {})

    page = await open_lesson(browser_like, course.lesson_path("intro"))

    assert page.status_code == 409
    assert page.headers["content-type"].startswith("text/html")
    assert "is not proctored" in page.text


async def test_a_retake_of_a_lesson_without_retakes_is_refused_with_a_message_page(stack, browser_like):
    course = seed_course(stack, [exam_lesson(retakes=False)], {"exam": ("full", True)})
    await open_lesson(browser_like, course.lesson_path("exam"), attempt=1)

    page = await open_lesson(browser_like, course.lesson_path("exam"), attempt=2)

    assert page.status_code == 409 and "does not allow retakes" in page.text


async def test_an_inactive_integration_refuses_a_new_attempt_with_a_message_page(stack, browser_like):
    course = seed_course(stack, [exam_lesson()], {"exam": ("full", True)})
    deactivate_integration(stack, course.integration_id)

    page = await open_lesson(browser_like, course.lesson_path("exam"))

    assert page.status_code == 422 and "is not active" in page.text


async def test_unknown_courses_and_attempts_are_not_found_pages(stack, browser_like):
    missing_course = await open_lesson(browser_like, "/learn/courses/no-such-course/lessons/exam")
    missing_attempt = [
        await browser_like.get(f"/learn/attempts/no-such-attempt{tail}") for tail in ("", "/setup", "/exam")
    ]

    assert missing_course.status_code == 404 and "Course no-such-course does not exist" in missing_course.text
    assert [page.status_code for page in missing_attempt] == [404, 404, 404]
    assert all("text/html" in page.headers["content-type"] for page in missing_attempt)


async def test_bad_learner_details_say_what_to_fix_without_echoing_them(stack, browser_like):
    course = seed_course(stack, [exam_lesson()], {"exam": ("full", True)})

    bad_email = await open_lesson(browser_like, course.lesson_path("exam"), email="ada-at-example.org")
    bad_number = await open_lesson(browser_like, course.lesson_path("exam"), attempt=0)

    assert (
        bad_email.status_code == 422 and "Please correct the e-mail: value is not a valid" in bad_email.text
    )
    assert "ada-at-example.org" not in bad_email.text
    assert bad_number.status_code == 422 and "Please correct the attempt number" in bad_number.text


async def test_a_mistyped_email_on_the_index_form_is_refused_before_any_lesson_opens(stack, browser_like):
    chosen = await browser_like.post("/learn/learner", data={**LEARNER, "email": "grace", "attempt": "1"})

    assert chosen.status_code == 422 and "Please correct the e-mail" in chosen.text
