"""The learner demo pages over real HTTP: the whole stack (web app, worker on the Temporal dev
server, the ProctorFree emulator) on free ports. Each test is named after the behaviour it checks."""

from __future__ import annotations

import re
from urllib.parse import quote

import httpx
from sqlmodel import select

from models.api import LessonIn
from models.tables import Attempt
from tests.learn.support import (
    ALL_RIGHT,
    INSTRUCTIONS,
    LEARNER,
    attempt_id_in,
    eventually,
    exam_lesson,
    open_lesson,
    seed_course,
    started_attempt,
    stored,
)
from workflows.attempt import AttemptWorkflow

ONE_WRONG = {"q1": "spindle", "q2": "never", "q3": "yellow"}


# --- the index -------------------------------------------------------------------------------


async def test_the_index_lists_proctored_lessons_with_a_link_to_open_each_as_a_learner(stack, browser_like):
    intro = LessonIn(id="intro", title="Welcome video", type="video")
    course = seed_course(stack, [intro, exam_lesson()], {"exam": ("full", True)}, title="Widget Basics")

    index = await browser_like.get("/learn/")

    assert index.status_code == 200
    assert "Widget Basics" in index.text and "Widget Safety Final Exam" in index.text
    assert "Welcome video" not in index.text  # not proctored, so not listed
    assert f'<a href="{course.lesson_path("exam")}?attempt=1">Open lesson as learner</a>' in index.text
    for label in ("Learner id", "Name", "E-mail", "Attempt number"):
        assert f">{label}</label>" in index.text


async def test_the_learner_chosen_on_the_index_is_remembered_without_personal_data_in_any_url(stack):
    course = seed_course(stack, [exam_lesson()], {"exam": ("full", True)})
    grace = {"learner_id": "learner-grace", "name": "Grace Hopper", "email": "grace@example.org"}
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=30) as visitor:
        chosen = await visitor.post("/learn/learner", data={**grace, "attempt": "2"})
        index = await visitor.get(chosen.headers["location"])
        # The index lists every course of the organisation: pick this test's.
        links = re.findall(r'<a href="([^"]+)">Open lesson as learner</a>', index.text)
        link = next(href for href in links if href.startswith(course.lesson_path("exam")))
        lesson = await visitor.get(link)

    assert chosen.status_code == 303 and link == f"{course.lesson_path('exam')}?attempt=2"
    assert 'value="grace@example.org"' in index.text  # only in the form field it was typed in
    assert "Grace Hopper, attempt 2" in lesson.text
    with stack.sessions() as session:
        attempt = session.get(Attempt, attempt_id_in(lesson))
    assert (attempt.learner_id, attempt.attempt_number) == ("learner-grace", 2)


# --- the lesson page -------------------------------------------------------------------------


async def test_the_lesson_page_shows_the_lesson_name_instructions_and_set_up_proctoring(stack, browser_like):
    course = seed_course(stack, [exam_lesson()], {"exam": ("full", True)})

    page = await open_lesson(browser_like, course.lesson_path("exam"))

    assert page.status_code == 200
    assert "<h1>Widget Safety Final Exam</h1>" in page.text
    assert "Keep your camera on for the whole exam." in page.text
    assert ">Set up Proctoring</a>" in page.text
    assert f'href="{stack.base_url}/learn/attempts/{attempt_id_in(page)}/setup"' in page.text


async def test_every_load_confirms_proctoring_and_a_reload_shows_the_same_attempt(stack, browser_like):
    course = seed_course(stack, [exam_lesson()], {"exam": ("full", True)})

    first = attempt_id_in(await open_lesson(browser_like, course.lesson_path("exam")))
    second = attempt_id_in(await open_lesson(browser_like, course.lesson_path("exam")))

    assert first == second
    with stack.sessions() as session:
        attempts = session.exec(select(Attempt).where(Attempt.course_id == course.course_id)).all()
    assert [a.id for a in attempts] == [first]


async def test_a_finished_attempt_offers_its_status_and_a_retake_where_retakes_are_allowed(
    stack, browser_like
):
    course = seed_course(stack, [exam_lesson(retakes=True)], {"exam": ("record_only", False)})
    attempt = await started_attempt(stack, browser_like, course.lesson_path("exam"))
    await stack.control("finish", attempt.vendor_session_id)
    await eventually(lambda: stored(stack, attempt.id).status == "finished")

    page = await open_lesson(browser_like, course.lesson_path("exam"))

    assert "You have finished this attempt." in page.text
    assert f'href="/learn/attempts/{attempt.id}"' in page.text
    assert "Retake the exam (attempt 2)" in page.text
    assert ">Set up Proctoring</a>" not in page.text


# --- on to ProctorFree -----------------------------------------------------------------------


async def test_set_up_proctoring_waits_on_a_refreshing_page_then_redirects_to_proctorfree(
    stack, browser_like
):
    course = seed_course(stack, [exam_lesson()], {"exam": ("full", True)})
    await stack.emulator.put("/emulator/faults", json={"error_rate": 1.0, "error_kinds": ["5xx"]})
    try:
        attempt_id = attempt_id_in(await open_lesson(browser_like, course.lesson_path("exam")))
        waiting = await browser_like.get(f"/learn/attempts/{attempt_id}/setup")
        too_early = await browser_like.get(f"/learn/attempts/{attempt_id}/exam")
    finally:
        await stack.emulator.put("/emulator/faults", json={"error_rate": 0.0})

    assert waiting.status_code == 200
    assert "Preparing your proctored session…" in waiting.text
    assert '<meta http-equiv="refresh" content="1">' in waiting.text
    assert too_early.status_code == 409 and "Set up proctoring first" in too_early.text

    async def redirected() -> httpx.Response | None:
        answer = await browser_like.get(f"/learn/attempts/{attempt_id}/setup")
        assert answer.status_code in (200, 303), answer.text
        return answer if answer.status_code == 303 else None

    redirect = await eventually(redirected, timeout=30)
    session_id = stored(stack, attempt_id).vendor_session_id
    assert redirect.headers["location"] == f"{stack.emulator_url}/s/{session_id}/setup"


# --- the quiz --------------------------------------------------------------------------------


async def test_the_quiz_result_is_recorded_and_the_learner_is_told_to_press_finish(stack, browser_like):
    course = seed_course(stack, [exam_lesson()], {"exam": ("full", True)})
    attempt = await started_attempt(stack, browser_like, course.lesson_path("exam"))

    quiz = await browser_like.get(f"/learn/attempts/{attempt.id}/exam")
    assert quiz.status_code == 200 and quiz.text.count("<fieldset") == 3
    posted = await browser_like.post(f"/learn/attempts/{attempt.id}/exam", data=ALL_RIGHT)
    assert posted.status_code == 303
    result = await browser_like.get(posted.headers["location"])

    assert "100%" in result.text and "passed" in result.text
    assert "Now press FINISH in the ProctorFree window, and confirm." in result.text
    window = f"{stack.emulator_url}/s/{attempt.vendor_session_id}/window"
    assert f'href="{window}"' in result.text
    recorded = stored(stack, attempt.id)
    assert (recorded.exam_score, recorded.exam_passed) == (100, True)
    handle = stack.client.get_workflow_handle(attempt.workflow_id)

    async def workflow_knows() -> bool:
        return (await handle.query(AttemptWorkflow.state)).exam is not None

    await eventually(workflow_knows)
    assert (await handle.query(AttemptWorkflow.state)).exam.score == 100


async def test_submitting_the_quiz_again_shows_the_stored_result(stack, browser_like):
    course = seed_course(stack, [exam_lesson()], {"exam": ("record_only", False)})
    attempt = await started_attempt(stack, browser_like, course.lesson_path("exam"))
    await browser_like.post(f"/learn/attempts/{attempt.id}/exam", data=ONE_WRONG)

    again = await browser_like.post(f"/learn/attempts/{attempt.id}/exam", data=ALL_RIGHT)
    shown = await browser_like.get(again.headers["location"])

    assert again.status_code == 303
    assert "67%" in shown.text and "not passed" in shown.text
    assert stored(stack, attempt.id).exam_score == 67


async def test_an_unanswered_question_is_asked_again_without_scoring(stack, browser_like):
    course = seed_course(stack, [exam_lesson()], {"exam": ("full", True)})
    attempt = await started_attempt(stack, browser_like, course.lesson_path("exam"))

    answer = await browser_like.post(f"/learn/attempts/{attempt.id}/exam", data={"q1": "spindle"})

    assert answer.status_code == 422
    assert "question 2, 3 are still blank" in answer.text
    assert re.search(r'value="spindle"\s+checked', answer.text)  # the answer given is kept
    assert stored(stack, attempt.id).exam_passed is None


# --- the status page -------------------------------------------------------------------------


async def test_the_status_page_says_where_the_attempt_is_in_words_and_refreshes(stack, browser_like):
    course = seed_course(stack, [exam_lesson()], {"exam": ("full", True)})
    attempt_id = attempt_id_in(await open_lesson(browser_like, course.lesson_path("exam")))
    await eventually(lambda: stored(stack, attempt_id).status == "awaiting_setup")

    status = await browser_like.get(f"/learn/attempts/{attempt_id}")

    assert status.status_code == 200
    assert "<strong>Awaiting setup</strong>" in status.text
    assert '<meta http-equiv="refresh" content="2">' in status.text


# --- personal data ---------------------------------------------------------------------------


async def test_the_learner_email_appears_on_no_page_after_the_lesson_link(stack, browser_like):
    course = seed_course(stack, [exam_lesson()], {"exam": ("full", True)})
    attempt = await started_attempt(stack, browser_like, course.lesson_path("exam"))
    await browser_like.post(f"/learn/attempts/{attempt.id}/exam", data=ALL_RIGHT)

    pages = [
        await open_lesson(browser_like, course.lesson_path("exam")),
        await browser_like.get(f"/learn/attempts/{attempt.id}/exam"),
        await browser_like.get(f"/learn/attempts/{attempt.id}"),
    ]

    for page in pages:
        assert page.status_code == 200
        assert LEARNER["email"] not in page.text and quote(LEARNER["email"]) not in page.text
    assert INSTRUCTIONS.splitlines()[0] in pages[0].text
