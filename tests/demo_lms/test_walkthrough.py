"""The README's walk-through in the demo LMS, over HTTP: the learner watches the intro (the demo
LMS reports it, since ProctorFlow does not proctor it), takes the recorded quiz and the final
exam; the reviewer passes the exam. The course and its certificate complete, and the demo LMS
learns of both from the events it received (issue 21)."""

from __future__ import annotations

from tests.api.helpers import add_integration, decide, put_course, review_task_of, unique
from tests.demo_lms.support import ALL_RIGHT, DemoLms, attempt_id_on, eventually, lesson_path, setup_link
from tests.support.stack import Stack

PROCTORED = (("recorded-quiz", "record_only", False), ("final-exam", "full", True))
LESSONS = [
    {"id": "intro", "title": "Welcome", "type": "video", "required": True},
    {"id": "recorded-quiz", "title": "Recorded safety quiz", "type": "quiz", "required": True},
    {"id": "final-exam", "title": "Final exam", "type": "quiz", "required": True},
]


async def demo_course(stack: Stack) -> str:
    """The demo's course, as `proctorflow dev` seeds it (its optional lessons aside)."""
    integration = await add_integration(stack.api)
    course_id = unique("course")
    await put_course(stack.api, course_id, LESSONS, score_lesson_id="final-exam", certificate=True)
    for lesson_id, method, validation in (
        ("recorded-quiz", "record_only", False),
        ("final-exam", "full", True),
    ):
        body = {"integration_id": integration["id"], "method": method, "requires_validation": validation}
        reply = await stack.api.put(f"/courses/{course_id}/lessons/{lesson_id}/proctoring", json=body)
        assert reply.status_code == 200, reply.text
    return course_id


async def take_the_quiz(stack: Stack, browser, course_id: str, lesson_id: str) -> dict:
    """Open the lesson, set up and start in ProctorFree, answer the quiz, press FINISH."""
    attempt_id = attempt_id_on(await browser.get(lesson_path(course_id, lesson_id)))
    await setup_link(browser, attempt_id)
    attempt = (await stack.api.get(f"/attempts/{attempt_id}")).json()
    await stack.control("start", attempt["vendor_session_id"])
    await stack.wait_for_attempt(attempt_id, lambda a: a["status"] == "in_progress")
    assert (await browser.post(f"/attempts/{attempt_id}/quiz", data=ALL_RIGHT)).status_code == 303
    await stack.control("finish", attempt["vendor_session_id"])
    return attempt


async def test_the_walk_through_ends_with_the_course_and_its_certificate_complete(
    stack: Stack, demo: DemoLms
):
    course_id = await demo_course(stack)
    async with demo.learner() as browser:
        course_page = await browser.get(f"/courses/{course_id}")
        assert "I watched it" in course_page.text
        watched = await browser.post(f"/courses/{course_id}/lessons/intro/done")
        assert watched.status_code == 303
        assert "I watched it" not in (await browser.get(f"/courses/{course_id}")).text

        await take_the_quiz(stack, browser, course_id, "recorded-quiz")
        final = await take_the_quiz(stack, browser, course_id, "final-exam")
        await stack.control("audit", final["vendor_session_id"], outcome="clean")
        await decide(stack, (await review_task_of(stack, final["attempt_id"], "ready_for_review"))["id"])

        async def live_says_certified():
            now = (await browser.get(f"/live/courses/{course_id}")).json()
            return now if now["text"].get("course:certificate") == "issued" else None

        live = await eventually(live_says_certified, "the certificate event", timeout=60)

    assert live["text"]["course:completion"] == "completed"
    progress = (await stack.api.get(f"/courses/{course_id}/learners/learner-ada/progress")).json()
    assert [(row["lesson_id"], row["completed_by"]) for row in progress["lessons"]] == [
        ("intro", "lms"),
        ("recorded-quiz", "attempt"),
        ("final-exam", "attempt"),
    ]
    assert progress["course"]["completed"] and progress["certificate"] is not None


async def test_a_proctored_lesson_cannot_be_marked_done_in_the_demo_lms(stack: Stack, demo: DemoLms):
    course_id = await demo_course(stack)
    async with demo.learner() as browser:
        refused = await browser.post(f"/courses/{course_id}/lessons/final-exam/done")
    assert refused.status_code == 409
    assert "its completion comes from its attempts" in refused.text
