"""Issue 20, case 1: a pass before the exam result certified a failed quiz.

Record-only lesson with validation on: FINISH, the reviewer passes, then the LMS posts a failed
quiz. The completion used to read the workflow's in-memory result and count a missing one as
passed ("passed; lesson completed, course completed, certificate issued"). Now a decision waits
for the exam result (until its window closes, counted from FINISH), and the completion reads
the result stored with the attempt's steps.
"""

from __future__ import annotations

from datetime import timedelta

from models.payloads import ExamResult
from models.statuses import AttemptStatus as S
from tests.workflows.story import TIMERS, attempt, decide, since, takes_exam, until
from tests.workflows.stubs import Stubs
from workflows.attempt import AttemptWorkflow

FAILED_QUIZ = ExamResult(score=41, passed=False)
WAITS_FOR_THE_QUIZ = "passed; the lesson completes when the LMS sends the exam result"


async def test_a_pass_before_a_failed_quiz_completes_the_lesson_as_failed_and_issues_nothing(time_skipping):
    stubs = Stubs()
    async with attempt(time_skipping, stubs, "record_only", required=True, requires_validation=True) as h:
        await takes_exam(h, exam=None)
        await until(h, lambda s: s.status == S.READY_FOR_REVIEW)
        reply = await decide(h, "pass")
        assert reply.accepted and reply.message == WAITS_FOR_THE_QUIZ
        state = await h.query(AttemptWorkflow.state)
        assert state.status == S.READY_FOR_REVIEW and not state.lesson_completed, "nothing completed yet"

        await h.signal(AttemptWorkflow.exam_result, FAILED_QUIZ)
        final = await h.result()

    assert final.status == S.COMPLETED
    (completion,) = stubs.reports
    assert completion.lesson_success is False and not completion.certificate_issued
    assert stubs.stored_exam == FAILED_QUIZ, "the completion read the stored, failed result"
    assert stubs.events[-4:] == ["ready_for_review", "decided", "lesson_completed", "completed"]


async def test_a_pass_whose_exam_result_never_comes_completes_when_the_window_closes(time_skipping):
    """No quiz result within its window (counted from FINISH): the decision alone completes
    the lesson, and the missing result is on the record."""
    stubs = Stubs()
    async with attempt(time_skipping, stubs, "record_only", required=True, requires_validation=True) as h:
        await takes_exam(h, exam=None)
        await until(h, lambda s: s.status == S.READY_FOR_REVIEW)
        await decide(h, "pass")
        final = await h.result()

    assert final.status == S.COMPLETED and final.lesson_completed
    finished_at = stubs.step("learner_finished").at
    assert since(stubs.step("exam_result_missing").at, finished_at) == TIMERS.exam_result_window
    assert stubs.events[-4:] == ["exam_result_missing", "decided", "lesson_completed", "completed"]


async def test_the_exam_result_is_written_with_the_attempts_steps_before_any_completion(time_skipping):
    stubs = Stubs()
    async with attempt(time_skipping, stubs, "record_only", required=False, requires_validation=False) as h:
        await takes_exam(h, exam=FAILED_QUIZ)
        final = await h.result()

    assert final.status == S.COMPLETED
    exam_step = next(change for change in stubs.changes if change.event == "exam_result")
    assert exam_step.detail == FAILED_QUIZ.model_dump()
    first_completion = stubs.called.index("complete_attempt")
    written_before = [name for name in stubs.called[:first_completion] if name == "record_steps"]
    assert written_before and stubs.reports[0].lesson_success is False


async def test_a_decision_waits_for_the_exam_result_only_until_its_window_closes(time_skipping):
    """The window counts from FINISH, not from the decision: a decision taken after it closed
    completes at once."""
    stubs = Stubs()
    async with attempt(time_skipping, stubs, "record_only", required=True, requires_validation=True) as h:
        await takes_exam(h, exam=None)
        await time_skipping.sleep(TIMERS.exam_result_window + timedelta(minutes=5))
        reply = await decide(h, "fail")
        final = await h.result()

    assert reply.message.startswith("failed; lesson completed as failed")
    assert final.status == S.COMPLETED and final.lesson_completed
