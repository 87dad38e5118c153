"""Issue 20, case 1: an exam result that arrives late.

Before, `POST /attempts/{id}/exam-result` stored the result first and asked questions after: an
expired attempt got its 409 with the result stored all the same; a completed attempt's result
was answered 202 and dropped (the lesson had completed without it, or with a pass that counted a
missing quiz result as passed). Now the attempt is read, locked, in the transaction that would
store the result, and what can no longer count is refused with the reason, nothing stored; the
same result again is answered as the first was; and a pass that came before the quiz result
completes the lesson by the quiz result the LMS sent, not by a guess.

On the whole system (real dev server, emulator, web app over HTTP)."""

from __future__ import annotations

from datetime import UTC, datetime

from models.payloads import StatusChange, StepBatch, workflow_id_for
from models.statuses import AttemptStatus, StepEvent
from models.tables import Attempt
from store.db import transaction
from store.records import record_steps
from tests.api.helpers import (
    assert_refused,
    open_attempt,
    proctored_course,
    review_task_of,
    unique,
    vendor_session,
)
from tests.support.stack import Stack


async def finished_without_result(stack: Stack, attempt_id: str) -> None:
    """The learner starts and presses FINISH; the LMS sends no quiz result (yet)."""
    session_id = await vendor_session(stack, attempt_id)
    await stack.control("start", session_id)
    await stack.wait_for_attempt(attempt_id, lambda a: a["status"] == "in_progress")
    await stack.control("finish", session_id)


async def window_closes_without_result(stack: Stack, attempt_id: str) -> None:
    """What the run writes when the exam-result window closes: `exam_result_missing`, `completed`."""
    handle = stack.client.get_workflow_handle(workflow_id_for(attempt_id))
    await handle.terminate(reason="the test writes the run's last steps itself")
    with stack.sessions() as session:
        attempt = session.get(Attempt, attempt_id)
    now = datetime.now(UTC)
    changes = [
        StatusChange(
            attempt_id=attempt_id,
            seq=attempt.last_seq + 1,
            run_id=attempt.run_id,
            event=StepEvent.EXAM_RESULT_MISSING,
            detail={"waited": "0:01:00"},
            at=now,
        ),
        StatusChange(
            attempt_id=attempt_id,
            seq=attempt.last_seq + 2,
            run_id=attempt.run_id,
            event=StepEvent.COMPLETED,
            status=AttemptStatus.COMPLETED,
            at=now,
        ),
    ]
    with transaction(stack.sessions) as session:
        record_steps(session, StepBatch(changes=changes))


async def post_result(stack: Stack, attempt_id: str, passed: bool, score: float):
    return await stack.api.post(
        f"/attempts/{attempt_id}/exam-result", json={"score": score, "passed": passed}
    )


async def test_a_result_for_an_expired_attempt_is_refused_and_not_stored(stack):
    course_id, _ = await proctored_course(stack.api)
    attempt_id = (await open_attempt(stack.api, course_id, unique("learner")))["attempt_id"]
    await vendor_session(stack, attempt_id)
    await stack.client.get_workflow_handle(workflow_id_for(attempt_id)).cancel()  # ops cancel it
    await stack.wait_for_attempt(attempt_id, lambda a: a["status"] == "expired")

    refused = await post_result(stack, attempt_id, passed=True, score=90)

    assert_refused(refused, 409, "expired before the learner finished")
    assert (await stack.api.get(f"/attempts/{attempt_id}")).json()["exam"] is None


async def test_a_result_after_the_attempt_completed_without_one_is_refused_with_the_reason(stack):
    """An optional lesson without validation completes when its exam-result window closes
    after FINISH, with no result: one that comes later cannot complete it any more. (The window
    is at least a minute: its run's last steps are written here as the run writes them.)"""
    course_id, _ = await proctored_course(stack.api, required=False, requires_validation=False)
    attempt_id = (await open_attempt(stack.api, course_id, unique("learner")))["attempt_id"]
    await finished_without_result(stack, attempt_id)
    await stack.wait_for_attempt(attempt_id, lambda a: a["status"] == "finished")
    await window_closes_without_result(stack, attempt_id)

    refused = await post_result(stack, attempt_id, passed=True, score=90)

    assert_refused(
        refused,
        409,
        "this attempt completed without an exam result: none arrived within the exam-result window "
        "after FINISH; change the lesson's result from the learner's course progress",
    )
    body = (await stack.api.get(f"/attempts/{attempt_id}")).json()
    assert body["exam"] is None and body["status"] == "completed"


async def test_a_pass_before_a_failed_quiz_completes_the_lesson_as_failed_without_a_certificate(stack):
    """FINISH, then the reviewer passes, then the LMS posts a failed quiz: the completion reads
    the result the LMS sent, so the lesson completes as failed and no certificate is issued.
    The same result again is answered as the first was; a different one is refused."""
    course_id, _ = await proctored_course(stack.api)  # record only, validation on, certificate
    learner = unique("learner")
    attempt_id = (await open_attempt(stack.api, course_id, learner))["attempt_id"]
    await finished_without_result(stack, attempt_id)
    task = await review_task_of(stack, attempt_id, "ready_for_review")
    decided = await stack.api.post(
        f"/review-tasks/{task['id']}/decision", json={"decision": "pass", "reviewer": "rita@lms"}
    )
    assert decided.status_code == 200, decided.text

    late = await post_result(stack, attempt_id, passed=False, score=35)

    assert late.status_code == 202, late.text
    done = await stack.wait_for_attempt(attempt_id, lambda a: a["status"] == "completed", timeout=30)
    assert done["exam"] == {"score": 35, "passed": False}
    progress = (await stack.api.get(f"/courses/{course_id}/learners/{learner}/progress")).json()
    exam = next(lesson for lesson in progress["lessons"] if lesson["lesson_id"] == "exam")
    assert (exam["success"], exam["score"], exam["proctoring_result"]) == (False, 35, "passed")
    assert progress["certificate"] is None and progress["course"]["completed"] is False

    again = await post_result(stack, attempt_id, passed=False, score=35)
    assert again.status_code == 202, again.text
    assert again.json()["message"] == "exam result recorded already: the attempt is complete"
    assert_refused(await post_result(stack, attempt_id, passed=True, score=95), 409, "different exam result")
