"""The attempt's story, one test per branch: the real `AttemptWorkflow` on the time-skipping
server, its activities stubbed in memory (tests/workflows/stubs.py), so each branch runs in a
fraction of a second. test_source_rules.py tells the same stories against the real database
and the ProctorFree emulator. How time skips here: tests/workflows/story.py.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import CancelledError
from temporalio.worker import Worker

from models import rules
from models.payloads import (
    AuditReport,
    DecisionReply,
    DecisionRequest,
    ExamResult,
)
from models.statuses import AttemptStatus as S
from models.statuses import ReviewState as R
from tests.workflows.story import (
    COMPLETED_ALL,
    PASSED_ALL,
    TIMERS,
    attempt,
    decide,
    opened,
    refusal,
    since,
    takes_exam,
    until,
)
from tests.workflows.stubs import REFUSED_CREDENTIALS, Stubs
from workflows.attempt import AttemptWorkflow

# --- Requires validation off ---------------------------------------------------------------------


async def test_optional_lesson_without_validation_completes_on_the_exam_result_and_takes_no_decision(
    time_skipping,
):
    stubs = Stubs()
    async with attempt(time_skipping, stubs, "record_only", required=False, requires_validation=False) as h:
        await opened(h)
        assert await refusal(h, "pass") == rules.NO_DECISION_TAKEN
        await takes_exam(h, ExamResult(score=91, passed=True))
        final = await h.result()

    assert final.status == S.COMPLETED and final.lesson_completed and final.decision is None
    assert final.review_state is None and stubs.reviews == [], "no review task for an optional lesson"
    assert stubs.events == [
        "vendor_session_created",
        "learner_started",
        "learner_finished",
        "lesson_completed",
        "completed",
    ]
    assert stubs.statuses == [S.AWAITING_SETUP, S.IN_PROGRESS, S.FINISHED, S.COMPLETED]
    assert stubs.reports == [COMPLETED_ALL]
    assert stubs.completions[0].decision is None and stubs.stored_exam.score == 91
    assert stubs.step("completed").detail == COMPLETED_ALL.model_dump()


async def test_required_lesson_without_validation_completes_on_the_exam_result_and_a_decision_confirms(
    time_skipping,
):
    stubs = Stubs()
    async with attempt(time_skipping, stubs, "record_only", required=True, requires_validation=False) as h:
        await takes_exam(h)
        state = await until(h, lambda s: s.status == S.READY_FOR_REVIEW)
        assert state.lesson_completed, "the exam result completed the lesson before any review"
        assert state.review_state == R.READY_FOR_REVIEW
        reply = await decide(h, "pass")
        final = await h.result()

    assert reply.accepted and reply.message == PASSED_ALL
    assert final.status == S.COMPLETED and final.review_state == R.PASSED
    assert stubs.events == [
        "vendor_session_created",
        "learner_started",
        "learner_finished",
        "lesson_completed",
        "ready_for_review",
        "decided",
        "completion_confirmed",
        "completed",
    ]
    assert stubs.review_states == [R.READY_FOR_REVIEW, R.PASSED]
    assert [c.decision for c in stubs.completions] == [None, "pass"]


# --- Requires validation on --------------------------------------------------------------------


async def test_record_only_with_validation_is_ready_at_finish_and_a_pass_completes_it(time_skipping):
    stubs = Stubs()
    async with attempt(time_skipping, stubs, "record_only", required=True, requires_validation=True) as h:
        await takes_exam(h)
        state = await until(h, lambda s: s.status == S.READY_FOR_REVIEW)
        assert state.review_state == R.READY_FOR_REVIEW and not state.lesson_completed
        assert stubs.completions == [], "requires validation: no completion without a decision"
        reply = await decide(h, "pass")
        final = await h.result()

    assert reply == DecisionReply(accepted=True, decision="pass", status=S.COMPLETED, message=PASSED_ALL)
    assert final.status == S.COMPLETED and final.review_state == R.PASSED
    assert final.decision == "pass" and final.decided_by == "rita@lms" and final.lesson_completed
    assert stubs.events == [
        "vendor_session_created",
        "learner_started",
        "learner_finished",
        "ready_for_review",
        "decided",
        "lesson_completed",
        "completed",
    ]
    assert stubs.statuses == [
        S.AWAITING_SETUP,
        S.IN_PROGRESS,
        S.FINISHED,
        S.READY_FOR_REVIEW,
        S.PASSED,
        S.COMPLETED,
    ]
    assert stubs.review_states == [R.READY_FOR_REVIEW, R.PASSED]
    assert stubs.reviews[-1].decided_by == "rita@lms"
    assert stubs.reports == [COMPLETED_ALL]
    assert stubs.step("decided").detail == {"decision": "pass", "by": "rita@lms"}


async def test_record_only_with_validation_a_fail_completes_the_lesson_as_failed(time_skipping):
    stubs = Stubs()
    async with attempt(time_skipping, stubs, "record_only", required=True, requires_validation=True) as h:
        await takes_exam(h)
        await until(h, lambda s: s.status == S.READY_FOR_REVIEW)
        reply = await decide(h, "fail")
        final = await h.result()

    assert reply.accepted and reply.decision == "fail" and reply.status == S.COMPLETED
    assert reply.message.startswith("failed; lesson completed as failed, course not completed (")
    assert final.status == S.COMPLETED and final.review_state == R.FAILED and final.decision == "fail"
    assert stubs.statuses[-2:] == [S.FAILED, S.COMPLETED]
    assert stubs.review_states == [R.READY_FOR_REVIEW, R.FAILED]
    assert [(r.lesson_success, r.course_completed, r.certificate_issued) for r in stubs.reports] == [
        (False, False, False)
    ]


async def test_a_decision_before_the_learner_finished_is_refused(time_skipping):
    stubs = Stubs()
    async with attempt(time_skipping, stubs, "record_only", required=True, requires_validation=True) as h:
        await opened(h)
        assert await refusal(h, "pass") == rules.NOT_FINISHED
        await h.signal(AttemptWorkflow.learner_started)
        await until(h, lambda s: s.status == S.IN_PROGRESS)
        assert await refusal(h, "fail") == rules.NOT_FINISHED
        assert (await h.query(AttemptWorkflow.state)).decision is None
        await takes_exam(h)
        await until(h, lambda s: s.status == S.READY_FOR_REVIEW)
        assert (await decide(h, "pass")).accepted
        final = await h.result()

    assert final.status == S.COMPLETED and stubs.events.count("decided") == 1


async def test_the_same_decision_twice_changes_nothing_and_a_different_one_is_refused(time_skipping):
    """Three reviewers answer the same task at once (the worker is away, so all three reach the
    workflow together, in the order they were sent)."""
    stubs = Stubs()
    no_sticky = {"max_cached_workflows": 0}
    async with attempt(
        time_skipping, stubs, "record_only", required=True, requires_validation=True, **no_sticky
    ) as h:
        await takes_exam(h)
        await until(h, lambda s: s.status == S.READY_FOR_REVIEW)
    first = asyncio.create_task(decide(h, "pass", "rita@lms"))
    await asyncio.sleep(0.1)
    again = asyncio.create_task(decide(h, "pass", "sam@lms"))
    await asyncio.sleep(0.1)
    other = asyncio.create_task(refusal(h, "fail", "tom@lms"))
    await asyncio.sleep(0.1)
    async with Worker(
        time_skipping.client,
        task_queue=(await h.describe()).task_queue,
        workflows=[AttemptWorkflow],
        activities=stubs.activities(),
        **no_sticky,
    ):
        replies = await asyncio.gather(first, again, other)
        final = await h.result()

    assert replies[0] == DecisionReply(accepted=True, decision="pass", status=S.COMPLETED, message=PASSED_ALL)
    assert replies[1] == DecisionReply(
        accepted=False, decision="pass", status=S.COMPLETED, message="already passed; nothing changed"
    )
    assert replies[2] == rules.already_decided("pass")
    assert final.decided_by == "rita@lms" and stubs.events.count("decided") == 1
    assert len(stubs.reports) == 1


# --- Full proctoring: ProctorFree's audit ----------------------------------------------------------


async def test_full_method_is_not_ready_until_the_audit_webhook_and_then_passes(time_skipping):
    stubs = Stubs()
    async with attempt(time_skipping, stubs, "full", required=True, requires_validation=True) as h:
        await takes_exam(h)
        state = await until(h, lambda s: s.status == S.AWAITING_AUDIT)
        assert state.review_state == R.NOT_READY
        assert await refusal(h, "pass") == rules.AUDIT_PENDING
        # The same decision as a plain signal is not fatal: it is logged and ignored.
        await h.signal(AttemptWorkflow.submit_decision, DecisionRequest(decision="pass", reviewer="ops"))
        await h.signal(AttemptWorkflow.audit_completed, AuditReport(outcome="clean"))
        state = await until(h, lambda s: s.status == S.READY_FOR_REVIEW)
        assert state.review_state == R.READY_FOR_REVIEW and state.audit == AuditReport(outcome="clean")
        assert state.decision is None
        reply = await decide(h, "pass")
        final = await h.result()

    assert reply.accepted and reply.message == PASSED_ALL
    assert final.status == S.COMPLETED and final.review_state == R.PASSED
    assert stubs.events == [
        "vendor_session_created",
        "learner_started",
        "learner_finished",
        "awaiting_audit",
        "decision_ignored",
        "audit",
        "ready_for_review",
        "decided",
        "lesson_completed",
        "completed",
    ]
    assert stubs.step("decision_ignored").detail["reason"] == rules.AUDIT_PENDING
    assert stubs.review_states == [R.NOT_READY, R.READY_FOR_REVIEW, R.PASSED]
    ready = stubs.reviews[1]
    assert not ready.flagged and ready.audit_outcome == "clean"
    # The webhook ended the wait at once: no poll, no skipped time (only the test's real time).
    assert stubs.audit_polls == 0
    assert stubs.step("audit").at - stubs.step("learner_finished").at < timedelta(minutes=1)


async def test_full_method_audit_found_by_polling_when_the_webhook_is_lost(time_skipping):
    stubs = Stubs()
    stubs.audit_on_poll = 3
    stubs.audit_outcome = "flagged"
    async with attempt(time_skipping, stubs, "full", required=True, requires_validation=True) as h:
        await takes_exam(h)
        await until(h, lambda s: s.status == S.AWAITING_AUDIT)
        await time_skipping.sleep(3 * TIMERS.audit_poll_interval + timedelta(minutes=1))
        state = await until(h, lambda s: s.status == S.READY_FOR_REVIEW)
        assert state.audit == AuditReport(outcome="flagged")
        assert (await decide(h, "fail")).accepted
        final = await h.result()

    assert final.status == S.COMPLETED and final.review_state == R.FAILED
    assert stubs.audit_polls == 3
    # Polled once an interval after FINISH, then every interval: found on the third poll.
    finished_at = stubs.step("learner_finished").at
    assert since(stubs.step("audit").at, finished_at) == 3 * TIMERS.audit_poll_interval
    ready = stubs.reviews[1]
    assert ready.state == R.READY_FOR_REVIEW and ready.flagged and ready.audit_outcome == "flagged"


async def test_ops_check_vendor_now_finds_a_landed_audit_without_waiting_for_the_next_poll(time_skipping):
    stubs = Stubs()
    async with attempt(time_skipping, stubs, "full", required=True, requires_validation=True) as h:
        await takes_exam(h)
        await until(h, lambda s: s.status == S.AWAITING_AUDIT)
        stubs.audit = AuditReport(outcome="clean")  # audited, but the webhook was lost
        await h.signal(AttemptWorkflow.check_vendor_now)
        state = await until(h, lambda s: s.status == S.READY_FOR_REVIEW)
        assert state.audit == AuditReport(outcome="clean") and state.review_state == R.READY_FOR_REVIEW
        assert (await decide(h, "pass")).accepted
        await h.result()

    assert stubs.audit_polls == 1
    waited = stubs.step("audit").at - stubs.step("learner_finished").at
    assert waited < timedelta(minutes=1), "found at once, not at the next poll an hour later"


async def test_full_method_audit_that_never_arrives_is_escalated_at_its_deadline(time_skipping):
    stubs = Stubs()
    async with attempt(time_skipping, stubs, "full", required=True, requires_validation=True) as h:
        await takes_exam(h)
        await until(h, lambda s: s.status == S.AWAITING_AUDIT)
        await time_skipping.sleep(TIMERS.audit_deadline - timedelta(minutes=1))
        assert (await h.query(AttemptWorkflow.state)).status == S.AWAITING_AUDIT, "not escalated early"
        await time_skipping.sleep(timedelta(minutes=2))
        state = await until(h, lambda s: s.status == S.READY_FOR_REVIEW)
        assert state.audit == AuditReport(outcome="missing", escalated=True)
        assert (await decide(h, "pass")).accepted
        final = await h.result()

    assert final.status == S.COMPLETED
    deadline = final.finished_at + TIMERS.audit_deadline
    audit = stubs.step("audit")
    assert audit.detail == {"outcome": "missing", "escalated": True}
    assert audit.at >= deadline, "not escalated before the deadline"
    assert since(audit.at, deadline) == timedelta(0), "escalated at the deadline"
    escalated = stubs.reviews[1]
    assert escalated.state == R.READY_FOR_REVIEW and escalated.flagged
    assert escalated.audit_outcome == "missing"
    assert escalated.at == audit.at
    assert stubs.audit_polls >= 1


# --- The learner ---------------------------------------------------------------------------------


async def test_finish_is_found_by_polling_when_the_webhooks_are_lost(time_skipping):
    stubs = Stubs()
    async with attempt(time_skipping, stubs, "record_only", required=False, requires_validation=False) as h:
        await opened(h)
        stubs.learner_finishes_in_vendor()  # no start or finish webhook reaches us
        await h.signal(AttemptWorkflow.exam_result, ExamResult(score=60, passed=True))
        final = await h.result()

    assert final.status == S.COMPLETED and final.finished and final.lesson_completed
    assert stubs.events == [
        "vendor_session_created",
        "learner_started",
        "learner_finished",
        "lesson_completed",
        "completed",
    ]
    assert stubs.finish_polls == 1, "first poll one interval after the session opened, and it found FINISH"
    opened_at = stubs.step("vendor_session_created").at
    assert since(stubs.step("learner_finished").at, opened_at) == TIMERS.session_poll_interval
    assert stubs.step("learner_finished").detail == {"capped": False}


async def test_practice_is_capped_20_minutes_after_the_start(time_skipping):
    stubs = Stubs()
    async with attempt(time_skipping, stubs, "practice", required=False, requires_validation=False) as h:
        await opened(h)
        await h.signal(AttemptWorkflow.learner_started)
        await until(h, lambda s: s.status == S.IN_PROGRESS)
        await h.signal(AttemptWorkflow.exam_result, ExamResult(score=50, passed=True))
        final = await h.result()

    assert final.status == S.COMPLETED and final.finished and final.lesson_completed
    started, finished = stubs.step("learner_started"), stubs.step("learner_finished")
    assert since(finished.at, started.at) == rules.PRACTICE_TIME_LIMIT
    assert final.capped
    assert finished.detail == {"capped": True}
    assert stubs.closes == 1, "the vendor session was closed at the cap"
    assert stubs.called.index("close_session") < stubs.called.index("complete_attempt")
    assert stubs.events[-2:] == ["lesson_completed", "completed"]


async def test_a_learner_who_never_finishes_expires_and_the_vendor_session_is_closed(time_skipping):
    stubs = Stubs()
    async with attempt(time_skipping, stubs, "full", required=True, requires_validation=True) as h:
        await opened(h)
        await h.signal(AttemptWorkflow.learner_started)
        await until(h, lambda s: s.status == S.IN_PROGRESS)
        final = await h.result()

    assert final.status == S.EXPIRED and not final.finished
    assert stubs.events == ["vendor_session_created", "learner_started", "expired"]
    assert stubs.step("expired").detail == {"reason": "never finished in the window"}
    assert stubs.closes == 1, "the vendor session was closed"
    assert stubs.reviews == [] and stubs.completions == [], "no review task, no completion"
    opened_at = stubs.step("vendor_session_created").at
    assert since(stubs.step("expired").at, opened_at) <= TIMERS.finish_window


async def test_an_exam_result_that_never_arrives_is_noted_and_a_decision_still_completes(time_skipping):
    stubs = Stubs()
    async with attempt(time_skipping, stubs, "record_only", required=True, requires_validation=False) as h:
        await takes_exam(h, exam=None)
        await time_skipping.sleep(TIMERS.exam_result_window + timedelta(minutes=1))
        state = await until(h, lambda s: s.status == S.READY_FOR_REVIEW)
        assert not state.lesson_completed and state.exam is None
        reply = await decide(h, "pass")
        final = await h.result()

    assert reply.accepted and reply.message == PASSED_ALL
    assert final.status == S.COMPLETED and final.lesson_completed
    assert stubs.events == [
        "vendor_session_created",
        "learner_started",
        "learner_finished",
        "exam_result_missing",
        "ready_for_review",
        "decided",
        "lesson_completed",
        "completed",
    ]
    missing = stubs.step("exam_result_missing")
    assert since(missing.at, stubs.step("learner_finished").at) == TIMERS.exam_result_window
    assert stubs.stored_exam is None and [c.decision for c in stubs.completions] == ["pass"]


async def test_an_optional_lesson_whose_exam_result_never_arrives_ends_without_a_lesson_completion(
    time_skipping,
):
    """Nothing can complete the lesson (no exam result, no decision taken): the attempt ends
    `completed` all the same, with `lesson_completed` false and nothing written to progress."""
    stubs = Stubs()
    async with attempt(time_skipping, stubs, "record_only", required=False, requires_validation=False) as h:
        await takes_exam(h, exam=None)
        final = await h.result()

    assert final.status == S.COMPLETED and not final.lesson_completed
    assert stubs.events[-2:] == ["exam_result_missing", "completed"]
    assert stubs.completions == [] and stubs.step("completed").detail == {}


# --- Ops --------------------------------------------------------------------------------------------


async def test_refused_credentials_at_create_session_park_the_attempt_until_resumed(time_skipping):
    stubs = Stubs()
    stubs.refuse("create_session")
    async with attempt(time_skipping, stubs, "record_only", required=False, requires_validation=False) as h:
        state = await until(h, lambda s: s.status == S.ERROR)
        assert state.vendor_session_id is None and REFUSED_CREDENTIALS in state.waiting_for
        await time_skipping.sleep(timedelta(minutes=30))
        assert (await h.query(AttemptWorkflow.state)).status == S.ERROR, "parked until ops resume it"
        stubs.accept("create_session")
        await h.signal(AttemptWorkflow.resume)
        await takes_exam(h)
        final = await h.result()

    assert final.status == S.COMPLETED and final.vendor_session_id is not None
    assert stubs.events == [
        "parked",
        "resumed",
        "vendor_session_created",
        "learner_started",
        "learner_finished",
        "lesson_completed",
        "completed",
    ]
    assert stubs.statuses[:3] == [S.ERROR, S.CREATED, S.AWAITING_SETUP]
    assert stubs.step("parked").error_reason == REFUSED_CREDENTIALS
    assert stubs.called.count("create_session") == 2 and stubs.sessions_created == 1


async def test_refused_credentials_at_close_session_park_the_expiry_until_resumed(time_skipping):
    stubs = Stubs()
    stubs.refuse("close_session")
    async with attempt(time_skipping, stubs, "record_only", required=True, requires_validation=True) as h:
        await opened(h)
        await time_skipping.sleep(TIMERS.finish_window + timedelta(minutes=1))
        state = await until(h, lambda s: s.status == S.ERROR)
        assert state.vendor_session_id is not None and REFUSED_CREDENTIALS in state.waiting_for
        stubs.accept()
        await h.signal(AttemptWorkflow.resume)
        final = await h.result()

    assert final.status == S.EXPIRED
    assert stubs.events == ["vendor_session_created", "parked", "resumed", "expired"]
    assert stubs.closes == 1


async def test_ops_cancel_closes_the_vendor_session_and_ends_the_attempt_expired(time_skipping):
    stubs = Stubs()
    async with attempt(time_skipping, stubs, "full", required=True, requires_validation=True) as h:
        await takes_exam(h)
        await until(h, lambda s: s.status == S.AWAITING_AUDIT)
        await h.cancel()
        with pytest.raises(WorkflowFailureError) as ended:
            await h.result()

    assert isinstance(ended.value.cause, CancelledError)
    assert stubs.events[-1] == "cancelled" and stubs.statuses[-1] == S.EXPIRED
    assert stubs.step("cancelled").detail == {"reason": "cancelled by ops"}
    assert stubs.closes == 1
    assert stubs.completions == []
