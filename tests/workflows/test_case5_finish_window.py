"""Issue 20, case 5: the finish window closed up to one poll interval early.

Temporal schedules no retry of a poll past its schedule-to-close deadline, so the last poll
came up to one (backed-off) interval before the window closed and the attempt expired then:
with these timers (polls at 10, 20, 40, 70 and 100 minutes) at 1 h 40 of a 2 h window, and with
the defaults the ProctorFree session was closed while the learner was still in the exam. The
window is now honoured to its end, with one last question to ProctorFree before it closes.
"""

from __future__ import annotations

from datetime import timedelta

from models.payloads import ExamResult
from models.statuses import AttemptStatus as S
from tests.workflows.story import TIMERS, attempt, opened, since
from tests.workflows.stubs import Stubs
from workflows.attempt import AttemptWorkflow


async def test_a_learner_who_never_finishes_expires_at_the_finish_window_not_before(time_skipping):
    stubs = Stubs()
    async with attempt(time_skipping, stubs, "record_only", required=True, requires_validation=True) as h:
        await opened(h)
        final = await h.result()

    assert final.status == S.EXPIRED
    opened_at = stubs.step("vendor_session_created").at
    assert since(stubs.step("expired").at, opened_at) == TIMERS.finish_window
    assert stubs.called[-3:] == ["check_session_finished", "close_session", "record_steps"], (
        "one last question to ProctorFree, then the session is closed"
    )


async def test_a_learner_who_presses_finish_inside_the_window_is_not_expired(time_skipping):
    stubs = Stubs()
    async with attempt(time_skipping, stubs, "record_only", required=False, requires_validation=False) as h:
        await opened(h)
        await h.signal(AttemptWorkflow.learner_started)
        await h.signal(AttemptWorkflow.exam_result, ExamResult(score=70, passed=True))
        await time_skipping.sleep(TIMERS.finish_window - timedelta(minutes=10))
        state = await h.query(AttemptWorkflow.state)
        assert state.status == S.IN_PROGRESS, f"{state.status} with 10 minutes of the window left"
        await h.signal(AttemptWorkflow.learner_finished)
        final = await h.result()

    assert final.status == S.COMPLETED and final.finished, stubs.events


async def test_a_finish_whose_webhook_was_lost_after_the_last_poll_is_found_by_the_last_check(time_skipping):
    """The polls stopped before the window's end; the learner pressed FINISH after the last one
    and its webhook was lost: the last question to ProctorFree finds it, nothing expires."""
    stubs = Stubs()
    async with attempt(time_skipping, stubs, "record_only", required=False, requires_validation=False) as h:
        await opened(h)
        await h.signal(AttemptWorkflow.learner_started)
        await h.signal(AttemptWorkflow.exam_result, ExamResult(score=70, passed=True))
        await time_skipping.sleep(TIMERS.finish_window - timedelta(minutes=5))
        polls_before = stubs.finish_polls
        stubs.learner_finishes_in_vendor()
        final = await h.result()

    assert final.status == S.COMPLETED and final.finished and "expired" not in stubs.events
    assert stubs.finish_polls == polls_before + 1, "one last check, no more polling"
    assert since(stubs.step("learner_finished").at, stubs.step("vendor_session_created").at) == (
        TIMERS.finish_window
    )
