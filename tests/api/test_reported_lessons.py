"""The LMS reports the lessons ProctorFlow does not proctor (issue 21), so a course whose required
lessons are not all proctored completes: "if the proctored lesson is the last required lesson of
the course, completing the lesson will also complete the course", whichever lesson comes last.

Over real HTTP against the running stack (SQLite, and PostgreSQL in CI's second run)."""

from __future__ import annotations

import asyncio

import httpx
from sqlmodel import select

from models.tables import Certificate, CourseProgress, OutboundEvent
from tests.api.helpers import (
    add_integration,
    assert_refused,
    open_attempt,
    put_course,
    unique,
    vendor_session,
)
from tests.support.stack import Stack

INTRO = {"id": "intro", "title": "Welcome video", "type": "video", "required": True}
EXAM = {"id": "exam", "title": "Final exam", "type": "quiz", "required": True}


async def intro_and_exam_course(stack: Stack, score_lesson: str = "exam") -> str:
    """A required intro video (not proctored) and a required final exam, proctored record-only
    without validation (the exam result after FINISH completes the lesson; its review task
    waits for the reviewer), with a certificate."""
    integration = await add_integration(stack.api)
    course_id = unique("course")
    await put_course(stack.api, course_id, [INTRO, EXAM], score_lesson_id=score_lesson, certificate=True)
    proctoring = {"integration_id": integration["id"], "method": "record_only", "requires_validation": False}
    reply = await stack.api.put(f"/courses/{course_id}/lessons/exam/proctoring", json=proctoring)
    assert reply.status_code == 200, reply.text
    return course_id


async def finish_the_exam(stack: Stack, course_id: str, learner: str) -> str:
    """Open, start and FINISH in ProctorFree: the attempt waits for the exam result."""
    attempt_id = (await open_attempt(stack.api, course_id, learner))["attempt_id"]
    session_id = await vendor_session(stack, attempt_id)
    await stack.control("start", session_id)
    await stack.control("finish", session_id)
    return attempt_id


async def pass_the_exam(stack: Stack, attempt_id: str, score: float = 88) -> None:
    reply = await stack.api.post(f"/attempts/{attempt_id}/exam-result", json={"score": score, "passed": True})
    assert reply.status_code == 202, reply.text
    await stack.wait_for_attempt(attempt_id, lesson_completed, timeout=60)


def lesson_completed(attempt: dict) -> bool:
    return any(step["event"] == "lesson_completed" for step in attempt["events"])


async def report_intro(stack: Stack, course_id: str, learner: str, **body) -> httpx.Response:
    return await stack.api.put(
        f"/courses/{course_id}/learners/{learner}/lessons/intro/completion", json={"completed": True, **body}
    )


async def progress(stack: Stack, course_id: str, learner: str) -> dict:
    return (await stack.api.get(f"/courses/{course_id}/learners/{learner}/progress")).json()


def completed_once(stack: Stack, course_id: str, learners: list[str]) -> None:
    """Each learner's course completed once, one certificate, one course.completed event."""
    with stack.sessions() as session:
        courses = session.exec(select(CourseProgress).where(CourseProgress.course_id == course_id)).all()
        certificates = session.exec(select(Certificate).where(Certificate.course_id == course_id)).all()
        told = [
            e.data["learner_id"]
            for e in session.exec(select(OutboundEvent).where(OutboundEvent.type == "course.completed"))
            if e.data["course_id"] == course_id
        ]
    assert sorted(c.learner_id for c in courses if c.completed_at is not None) == sorted(learners)
    assert sorted(c.learner_id for c in certificates) == sorted(learners)
    assert sorted(told) == sorted(learners)


async def test_the_exam_passed_first_then_the_intro_reported_completes_the_course_once(stack):
    course_id, learner = await intro_and_exam_course(stack), unique("learner")
    await pass_the_exam(stack, await finish_the_exam(stack, course_id, learner))
    assert not (await progress(stack, course_id, learner))["course"]["completed"]

    reply = await report_intro(stack, course_id, learner)

    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert (body["applied"], body["course_completed"], body["certificate_issued"]) == (
        "completed",
        True,
        True,
    )
    assert body["message"] == "lesson intro completed; course completed; certificate issued"
    again = (await report_intro(stack, course_id, learner)).json()
    assert again["applied"] == "unchanged" and again["course_completed"]
    shown = await progress(stack, course_id, learner)
    assert [(row["lesson_id"], row["completed_by"]) for row in shown["lessons"]] == [
        ("intro", "lms"),
        ("exam", "attempt"),
    ]
    assert shown["course"] | {"completed_at": None} == {
        "completed": True,
        "completed_at": None,
        "success": True,
        "score": 88,
    }
    completed_once(stack, course_id, [learner])


async def test_the_intro_reported_first_then_the_exam_passed_completes_the_course_once(stack):
    course_id, learner = await intro_and_exam_course(stack), unique("learner")
    first = (await report_intro(stack, course_id, learner, completed_at="2026-11-01T09:00:00Z")).json()
    assert first["course_completed"] is False
    assert (
        first["message"]
        == "lesson intro completed; course not completed (required lessons not complete: exam)"
    )
    assert first["completed_at"].startswith("2026-11-01T09:00:00")

    await pass_the_exam(stack, await finish_the_exam(stack, course_id, learner))

    shown = await progress(stack, course_id, learner)
    assert shown["course"]["completed"] and shown["certificate"] is not None
    completed_once(stack, course_id, [learner])


async def test_a_hundred_learners_reporting_and_passing_at_the_same_moment_complete_each_course_once(stack):
    course_id = await intro_and_exam_course(stack)
    learners = [unique("learner") for _ in range(100)]
    attempts = await gather_in_batches([finish_the_exam(stack, course_id, learner) for learner in learners])
    for attempt_id in attempts:  # every attempt waits for its exam result
        await stack.wait_for_attempt(attempt_id, lambda a: a["status"] in ("finished", "awaiting_audit"))

    # The intro's report and the exam's result for each learner, all at once.
    moment = [report_intro(stack, course_id, learner) for learner in learners]
    moment += [
        stack.api.post(f"/attempts/{attempt_id}/exam-result", json={"score": 90, "passed": True})
        for attempt_id in attempts
    ]
    replies = await asyncio.gather(*moment)
    assert all(reply.status_code in (200, 202) for reply in replies), [r.text for r in replies if r.is_error]
    for attempt_id in attempts:
        await stack.wait_for_attempt(attempt_id, lesson_completed, timeout=120)

    completed_once(stack, course_id, learners)


async def gather_in_batches(calls: list, size: int = 20) -> list:
    done = []
    for start in range(0, len(calls), size):
        done += await asyncio.gather(*calls[start : start + size])
    return done


async def test_an_unproctored_score_lesson_gives_the_course_its_score(stack):
    course_id, learner = await intro_and_exam_course(stack, score_lesson="intro"), unique("learner")
    await pass_the_exam(stack, await finish_the_exam(stack, course_id, learner), score=97)

    reply = await report_intro(stack, course_id, learner, success=True, score=64.5)

    assert reply.json()["course_completed"]
    assert (await progress(stack, course_id, learner))["course"]["score"] == 64.5


async def test_a_proctored_lesson_is_refused_with_the_reason_and_a_completion_does_not_change(stack):
    course_id, learner = await intro_and_exam_course(stack), unique("learner")

    proctored = await stack.api.put(
        f"/courses/{course_id}/learners/{learner}/lessons/exam/completion", json={"completed": True}
    )
    assert_refused(proctored, 409, "lesson exam is proctored", "its completion comes from its attempts")

    assert (await report_intro(stack, course_id, learner, success=True, score=50)).status_code == 200
    changed = await report_intro(stack, course_id, learner, success=False, score=50)
    assert_refused(
        changed, 409, "lesson intro was completed by an earlier report", "a completion does not change"
    )
    withdrawn = await report_intro(stack, course_id, learner, completed=False)
    assert_refused(withdrawn, 409, "a completion does not change")


async def test_bad_reports_say_what_to_fix_and_another_organisations_course_is_not_found(stack, other_org):
    course_id, learner = await intro_and_exam_course(stack), unique("learner")

    naive = await report_intro(stack, course_id, learner, completed_at="2026-11-01T09:00:00")
    assert_refused(naive, 422, "with a time zone")
    unknown = await stack.api.put(
        f"/courses/{course_id}/learners/{learner}/lessons/nope/completion", json={"completed": True}
    )
    assert_refused(unknown, 404, "lesson nope is not part of course")
    theirs = await other_org.put(
        f"/courses/{course_id}/learners/{learner}/lessons/intro/completion", json={"completed": True}
    )
    assert_refused(theirs, 404, f"course {course_id} does not exist")
    nothing = (await report_intro(stack, course_id, learner, completed=False)).json()
    assert nothing["applied"] == "not_completed" and not nothing["completed"]


async def test_a_backlog_in_bulk_answers_for_each_item_and_a_refused_one_leaves_the_others_done(
    stack, other_org
):
    course_id = await intro_and_exam_course(stack)
    learners = [unique("learner") for _ in range(3)]
    items = [{"learner_id": learner, "lesson_id": "intro", "completed": True} for learner in learners]
    items.insert(1, {"learner_id": learners[0], "lesson_id": "exam", "completed": True})

    reply = await stack.api.post(f"/courses/{course_id}/completions", json={"items": items})

    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert [r["status"] for r in body["results"]] == [200, 409, 200, 200]
    assert "is proctored" in body["results"][1]["error"]["message"]
    assert (body["completed"], body["unchanged"], body["refused"]) == (3, 0, 1)
    again = (await stack.api.post(f"/courses/{course_id}/completions", json={"items": items[:1]})).json()
    assert (again["completed"], again["unchanged"]) == (0, 1)
    assert_refused(
        await stack.api.post(f"/courses/{course_id}/completions", json={"items": []}), 422, "items"
    )
    theirs = await other_org.post(f"/courses/{course_id}/completions", json={"items": items[:1]})
    assert_refused(theirs, 404, f"course {course_id} does not exist")
