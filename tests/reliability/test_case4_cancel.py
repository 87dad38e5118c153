"""Issue 20, case 4: cancel never ended an attempt parked on refused credentials.

The cancel branch asked ProctorFree to close the session, was refused, and parked again
(`parked, parked`); any cancelled attempt also left its review task `ready_for_review` in the
open queue, where deciding it answered 409. Now a cancel closes the session if ProctorFree lets
it (a refusal is noted on the `cancelled` step), never parks, and closes the review task.
On the real Temporal dev server, against the ProctorFree emulator over HTTP.
"""

from __future__ import annotations

import pytest
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import CancelledError

from models.api import LessonIn
from tests.support.harness import running_harness

EXAM = LessonIn(id="exam", title="Final exam", type="quiz", required=True)
QUICK = dict(session_poll_interval=1, session_poll_max_interval=1, audit_poll_interval=1)


async def cancelled(handle) -> None:
    await handle.cancel()
    with pytest.raises(WorkflowFailureError) as ended:
        await handle.result()
    assert isinstance(ended.value.cause, CancelledError)


async def test_cancelling_an_attempt_parked_on_refused_credentials_ends_it(dev_server, tmp_path):
    async with running_harness(dev_server.client, tmp_path, **QUICK) as h:
        h.seed([EXAM], {"exam": ("full", True)})
        handle = await h.open("exam")
        session_id = await h.learner_takes_exam(handle)
        await h.wait_for(handle, lambda s: s.status == "awaiting_audit", timeout=30)
        await h.set_faults(revoked_api_keys=["pf-key-test"])
        await h.wait_for(handle, lambda s: "rotate" in s.waiting_for, timeout=30)
        await h.attempt_when(handle, lambda a: a.status == "error")

        await cancelled(handle)

        attempt = h.attempt(handle)
        assert attempt.status == "expired"
        events = h.events(handle)
        assert events[-2:] == ["parked", "cancelled"], events
        detail = h.step(handle, "cancelled").detail
        assert "refused" in detail["vendor_session_not_closed"], "the refusal is on the record"
        assert (await h.stats())["sessions"][session_id]["closes"] == 0
        task = h.task(handle)
        assert task.state == "closed" and task.completed_at is not None, "out of the open queue"


async def test_cancelling_an_attempt_ready_for_review_closes_its_task(dev_server, tmp_path):
    async with running_harness(dev_server.client, tmp_path, **QUICK) as h:
        h.seed([EXAM], {"exam": ("record_only", True)})
        handle = await h.open("exam")
        session_id = await h.learner_takes_exam(handle)
        await h.wait_for(handle, lambda s: s.status == "ready_for_review", timeout=30)
        await h.task_when(handle, lambda t: t.state == "ready_for_review")

        await cancelled(handle)

        assert h.attempt(handle).status == "expired" and h.events(handle)[-1] == "cancelled"
        assert h.task(handle).state == "closed"
        assert (await h.stats())["sessions"][session_id]["closes"] == 1
