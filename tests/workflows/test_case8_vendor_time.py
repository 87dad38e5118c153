"""Issue 20, case 8: time.

FINISH's time was when the worker processed the signal, so a worker outage (or a webhook
delivered late) moved the audit deadline later by the outage; and an audit that landed after the
last poll was escalated without one last look. Now FINISH's time is ProctorFree's, and the
workflow asks ProctorFree once more before it escalates.
"""

from __future__ import annotations

from datetime import timedelta

from models.payloads import AuditReport
from models.statuses import AttemptStatus as S
from tests.workflows.story import TIMERS, attempt, opened, since, until
from tests.workflows.stubs import Stubs
from workflows.attempt import AttemptWorkflow


async def test_a_finish_delivered_late_counts_from_proctorfrees_time(time_skipping):
    stubs = Stubs()
    async with attempt(time_skipping, stubs, "full", required=True, requires_validation=True) as h:
        await opened(h)
        created_at = stubs.step("vendor_session_created").at
        pressed_finish_at = created_at + timedelta(minutes=30)
        await time_skipping.sleep(timedelta(hours=1, minutes=20))  # the worker was down; the webhook waited
        await h.signal(AttemptWorkflow.learner_finished, pressed_finish_at)
        state = await until(h, lambda s: s.status == S.AWAITING_AUDIT)
        assert state.finished_at == pressed_finish_at
        await time_skipping.sleep(TIMERS.audit_deadline)
        state = await until(h, lambda s: s.audit is not None)

    assert state.audit == AuditReport(outcome="missing", escalated=True)
    escalated = stubs.step("audit").at
    assert since(escalated, pressed_finish_at) == TIMERS.audit_deadline, "not 50 minutes later"
    assert (
        stubs.step("awaiting_audit").detail["escalates_at"]
        == (pressed_finish_at + TIMERS.audit_deadline).isoformat()
    )


async def test_a_vendor_time_from_the_future_is_taken_as_now(time_skipping):
    stubs = Stubs()
    async with attempt(time_skipping, stubs, "full", required=True, requires_validation=True) as h:
        await opened(h)
        far_future = stubs.step("vendor_session_created").at + timedelta(days=30)
        await h.signal(AttemptWorkflow.learner_finished, far_future)
        state = await until(h, lambda s: s.status == S.AWAITING_AUDIT)

    assert state.finished_at < far_future


async def test_an_audit_that_landed_after_the_last_poll_is_found_before_escalating(time_skipping):
    stubs = Stubs()
    async with attempt(time_skipping, stubs, "full", required=True, requires_validation=True) as h:
        await opened(h)
        await h.signal(AttemptWorkflow.learner_finished)
        await until(h, lambda s: s.status == S.AWAITING_AUDIT)
        await time_skipping.sleep(TIMERS.audit_deadline - timedelta(minutes=10))
        polls_before = stubs.audit_polls
        stubs.audit = AuditReport(outcome="flagged")  # its webhook is lost
        await time_skipping.sleep(timedelta(minutes=15))
        state = await until(h, lambda s: s.status == S.READY_FOR_REVIEW)

    assert state.audit == AuditReport(outcome="flagged"), "found by the last check, not escalated"
    assert stubs.audit_polls == polls_before + 1
