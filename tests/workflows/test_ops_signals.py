"""What ops can do to a running attempt: ask ProctorFree now, or cancel it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import CancelledError

from models.api import LessonIn
from tests.support.harness import running_harness
from workflows.attempt import AttemptWorkflow

EXAM = LessonIn(id="exam", title="Final exam", type="quiz", required=True)


async def test_check_vendor_now_finds_a_landed_audit_without_waiting_for_the_next_poll(
    time_skipping, tmp_path
):
    async with running_harness(time_skipping.client, tmp_path) as h:
        h.seed([EXAM], {"exam": ("full", True)})
        handle = await h.open("exam")
        session_id = await h.learner_takes_exam(handle)
        await h.wait_for(handle, lambda s: s.status == "awaiting_audit")
        await h.emulator("audit", session_id, outcome="clean")
        await handle.signal(AttemptWorkflow.check_vendor_now)
        state = await h.wait_for(handle, lambda s: s.status == "ready_for_review")
        assert state.audit is not None and state.audit.outcome == "clean"
        assert state.audit_at - state.finished_at < timedelta(minutes=1), "not an hour later"


async def test_ops_cancelling_an_attempt_closes_its_vendor_session_and_ends_it(time_skipping, tmp_path):
    async with running_harness(time_skipping.client, tmp_path) as h:
        h.seed([EXAM], {"exam": ("full", True)})
        handle = await h.open("exam")
        session_id = await h.learner_takes_exam(handle)
        await h.wait_for(handle, lambda s: s.status == "awaiting_audit")
        await handle.cancel()
        with pytest.raises(WorkflowFailureError) as ended:
            await handle.result()
        assert isinstance(ended.value.cause, CancelledError)
        attempt = h.attempt(handle)
        assert attempt.status == "expired" and h.events(handle)[-1] == "cancelled"
        await h.save_history(handle, "cancelled")
        assert (await h.stats())["sessions"][session_id]["closes"] == 1
