"""The demo LMS's pages over real HTTP, against the whole stack: picking a learner, the course and
its lessons, the proctored lesson page (opened on every load) and the quiz ProctorFree returns
the learner to. Each test is named after the behaviour it checks."""

from __future__ import annotations

import re

import httpx

from demo_lms.learners import COOKIE
from tests.api.helpers import exam_lesson, proctored_course, put_course, unique
from tests.demo_lms.support import (
    ALL_RIGHT,
    ONE_WRONG,
    DemoLms,
    attempt_id_on,
    lesson_path,
    setup_link,
    started_attempt,
)
from tests.support.stack import Stack

# --- who is learning -------------------------------------------------------------------------


async def test_a_visitor_picks_a_demo_learner_first_and_comes_back_where_they_were_going(demo: DemoLms):
    async with httpx.AsyncClient(base_url=demo.base_url, timeout=30) as browser:
        sent_away = await browser.get("/courses/some-course")
        who = await browser.get(sent_away.headers["location"])
        chosen = await browser.post(
            "/who", data={"learner_id": "learner-grace", "next": "/courses/some-course"}
        )
        cookie = browser.cookies[COOKIE]

    assert sent_away.status_code == 303 and sent_away.headers["location"].startswith("/who?next=")
    assert "Continue as Ada Lovelace" in who.text and "Continue as Grace Hopper" in who.text
    assert chosen.status_code == 303 and chosen.headers["location"] == "/courses/some-course"
    assert "grace" not in cookie.lower().split(".")[-1] and "Hopper" not in cookie  # an id, signed


async def test_an_edited_cookie_or_an_unknown_learner_is_not_trusted(demo: DemoLms):
    async with demo.learner("learner-ada") as browser:
        value, mac = browser.cookies[COOKIE].rsplit(".", 1)
        browser.cookies.set(COOKIE, f"{value}.{'0' * len(mac)}")
        forged = await browser.get("/")
        unknown = await browser.post("/who", data={"learner_id": "learner-mallory"})
        elsewhere = await browser.post("/who", data={"learner_id": "learner-ada", "next": "//evil.example"})

    assert forged.status_code == 303 and forged.headers["location"].startswith("/who")
    assert unknown.status_code == 422 and "Pick one of the demo learners" in unknown.text
    assert elsewhere.headers["location"] == "/"


# --- courses ---------------------------------------------------------------------------------


async def test_the_course_page_lists_its_lessons_with_the_learners_progress(stack: Stack, demo: DemoLms):
    course_id, _ = await proctored_course(stack.api, method="full")
    async with demo.learner() as browser:
        page = await browser.get(f"/courses/{course_id}")

    assert page.status_code == 200
    assert "<h1>Certified Widget Engineer</h1>" in page.text and "Final exam" in page.text
    assert f'href="{lesson_path(course_id)}">Open lesson</a>' in page.text
    assert 'data-live="lesson:exam:completion">not completed yet<' in page.text
    assert f'data-live-url="/live/courses/{course_id}"' in page.text


async def test_the_home_page_lists_the_configured_courses(stack: Stack, demo: DemoLms):
    course_id, _ = await proctored_course(stack.api)
    demo.settings.courses = f"{course_id},not-pushed-yet"
    try:
        async with demo.learner() as browser:
            home = await browser.get("/")
    finally:
        demo.settings.courses = ""

    assert f'<a href="/courses/{course_id}">Certified Widget Engineer</a>' in home.text
    assert "Not in ProctorFlow yet: not-pushed-yet" in home.text


# --- the proctored lesson --------------------------------------------------------------------


async def test_every_load_opens_the_same_attempt_and_the_set_up_link_is_proctorfrees(
    stack: Stack, demo: DemoLms
):
    course_id, _ = await proctored_course(stack.api, method="full")
    async with demo.learner() as browser:
        first = await browser.get(lesson_path(course_id))
        attempt_id = attempt_id_on(first)
        link = await setup_link(browser, attempt_id)
        reload = await browser.get(lesson_path(course_id))

    attempt = (await stack.api.get(f"/attempts/{attempt_id}")).json()
    assert first.status_code == 200 and "<h1>Final exam</h1>" in first.text
    assert "Clear your desk and close other applications." in first.text
    assert "Ada Lovelace, attempt 1" in first.text
    assert attempt_id_on(reload) == attempt_id and attempt["learner_id"] == "learner-ada"
    assert link == attempt["setup_url"] == f"{stack.emulator_url}/s/{attempt['vendor_session_id']}/setup"
    assert f'href="{link}">Set up Proctoring</a>' in reload.text


async def test_a_finished_attempt_offers_a_retake_where_retakes_are_allowed(stack: Stack, demo: DemoLms):
    course_id, _ = await proctored_course(
        stack.api, method="record_only", requires_validation=False, allows_retakes=True
    )
    async with demo.learner() as browser:
        attempt = await started_attempt(stack, browser, course_id)
        await stack.control("finish", attempt["vendor_session_id"])
        done = ("finished", "completed")
        await stack.wait_for_attempt(attempt["attempt_id"], lambda a: a["status"] in done)
        finished = await browser.get(lesson_path(course_id))
        retake = await browser.get(f"{lesson_path(course_id)}?attempt=2")

    assert re.search(r'<div data-live="stage:done"\s*>', finished.text)
    assert "Retake the exam (attempt 2)" in finished.text
    assert "Ada Lovelace, attempt 2" in retake.text and attempt_id_on(retake) != attempt["attempt_id"]


async def test_proctorflows_refusals_are_message_pages_with_its_words(stack: Stack, demo: DemoLms):
    course_id = unique("course")
    await put_course(stack.api, course_id, [exam_lesson(), exam_lesson("intro", type="video")])
    async with demo.learner() as browser:
        not_proctored = await browser.get(lesson_path(course_id, "intro"))
        no_course = await browser.get("/courses/no-such-course")
        no_lesson = await browser.get(lesson_path(course_id, "nope"))
        bad_number = await browser.get(f"{lesson_path(course_id)}?attempt=0")

    assert not_proctored.status_code == 409 and "is not proctored" in not_proctored.text
    assert not_proctored.headers["content-type"].startswith("text/html")
    assert no_course.status_code == 404 and "no-such-course" in no_course.text
    assert no_lesson.status_code == 404 and "has no lesson nope" in no_lesson.text
    assert bad_number.status_code == 422 and "attempt" in bad_number.text


# --- the quiz ProctorFree returns the learner to ---------------------------------------------


async def test_the_quiz_result_goes_to_proctorflow_and_the_learner_is_told_to_press_finish(
    stack: Stack, demo: DemoLms
):
    course_id, _ = await proctored_course(stack.api, method="full")
    async with demo.learner() as browser:
        attempt = await started_attempt(stack, browser, course_id)
        quiz_url = f"/attempts/{attempt['attempt_id']}/quiz"
        quiz = await browser.get(quiz_url)
        posted = await browser.post(quiz_url, data=ALL_RIGHT)
        result = await browser.get(posted.headers["location"])
        again = await browser.post(quiz_url, data=ONE_WRONG)

    assert quiz.status_code == 200 and quiz.text.count("<fieldset") == 3
    assert posted.status_code == 303 and again.status_code == 303
    assert "100%" in result.text and "passed" in result.text
    assert "Now press FINISH in the ProctorFree window, and confirm." in result.text
    assert f'href="{stack.emulator_url}/s/{attempt["vendor_session_id"]}/window"' in result.text
    stored = (await stack.api.get(f"/attempts/{attempt['attempt_id']}")).json()
    assert stored["exam"] == {"score": 100.0, "passed": True}  # submitting again changed nothing


async def test_an_unanswered_question_is_asked_again_and_nothing_is_reported(stack: Stack, demo: DemoLms):
    course_id, _ = await proctored_course(stack.api, method="full")
    async with demo.learner() as browser:
        attempt = await started_attempt(stack, browser, course_id)
        answer = await browser.post(f"/attempts/{attempt['attempt_id']}/quiz", data={"q1": "spindle"})

    assert answer.status_code == 422 and "question 2, 3 are still blank" in answer.text
    assert re.search(r'value="spindle"\s+checked', answer.text)
    assert (await stack.api.get(f"/attempts/{attempt['attempt_id']}")).json()["exam"] is None


async def test_the_quiz_waits_for_set_up_and_is_only_the_learners_own(stack: Stack, demo: DemoLms):
    course_id, _ = await proctored_course(stack.api, method="full")
    await stack.emulator.put("/emulator/faults", json={"error_rate": 1.0, "error_kinds": ["5xx"]})
    try:
        async with demo.learner("learner-ada") as ada:
            attempt_id = attempt_id_on(await ada.get(lesson_path(course_id)))
            too_early = await ada.get(f"/attempts/{attempt_id}/quiz")
            live = (await ada.get(f"/live/attempts/{attempt_id}")).json()
    finally:
        await stack.emulator.put("/emulator/faults", json={"error_rate": 0.0})
    async with demo.learner("learner-grace") as grace:
        not_hers = await grace.get(f"/attempts/{attempt_id}/quiz")
        not_hers_live = await grace.get(f"/live/attempts/{attempt_id}")

    assert too_early.status_code == 409 and "Set up proctoring first" in too_early.text
    assert live["show"]["setup:waiting"] is True and live["links"] == {}
    assert not_hers.status_code == 404 and "is not Grace Hopper" in not_hers.text
    assert not_hers_live.status_code == 404
