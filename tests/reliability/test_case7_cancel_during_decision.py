"""Issue 20, case 7: `run` returned with handlers still running, and a cancel could cut the
decision's write.

An in-flight `decide` Update on cancel ended as a confusing 409, and a cancel that came while
the decision was being written could commit `completed` and then write `expired` after it (an
illegal move). Now the decision's write is never cut: it completes, the attempt ends completed,
the reviewer's Update gets the real outcome, and `run` waits for every handler before it ends.
On the real Temporal dev server, the database write held up by a lock while ops cancel.
"""

from __future__ import annotations

import asyncio
import threading
import time

from sqlalchemy import update
from temporalio.client import WorkflowUpdateStage

from models.api import LessonIn
from models.payloads import DecisionReply, DecisionRequest, ExamResult
from models.tables import Attempt
from store.db import transaction
from tests.support.harness import running_harness
from workflows.attempt import AttemptWorkflow

EXAM = LessonIn(id="exam", title="Final exam", type="quiz", required=True)


def hold_write_lock(harness, attempt_id: str, seconds: float, locked: threading.Event) -> None:
    """Another writer holds the attempt's row (SQLite: the whole database) for `seconds`."""
    with transaction(harness.sessions) as session:
        session.exec(update(Attempt).where(Attempt.id == attempt_id).values(updated_at=Attempt.updated_at))
        locked.set()
        time.sleep(seconds)


async def test_a_cancel_during_the_decisions_write_lets_it_finish_and_the_attempt_completes(
    dev_server, tmp_path
):
    async with running_harness(dev_server.client, tmp_path) as h:
        h.seed([EXAM], {"exam": ("record_only", True)})
        handle = await h.open("exam")
        await h.learner_takes_exam(handle, passed=True, score=90)
        await h.wait_for(handle, lambda s: s.status == "ready_for_review")
        await handle.signal(AttemptWorkflow.exam_result, ExamResult(score=90, passed=True))

        locked = threading.Event()
        holder = threading.Thread(target=hold_write_lock, args=(h, h.attempt(handle).id, 4.0, locked))
        holder.start()
        await asyncio.to_thread(locked.wait, 10)
        update_handle = await handle.start_update(
            AttemptWorkflow.decide,
            DecisionRequest(decision="pass", reviewer="rita"),
            wait_for_stage=WorkflowUpdateStage.ACCEPTED,
            result_type=DecisionReply,
        )
        await asyncio.sleep(1.0)  # the decision's write is waiting for the lock
        await handle.cancel()
        reply = await update_handle.result()
        result = await handle.result()
        await asyncio.to_thread(holder.join)

    assert reply.accepted and reply.message.startswith("passed; lesson completed"), reply
    assert result["status"] == "completed", "the cancel came too late: the decision stands"
    attempt = h.attempt(handle)
    assert attempt.status == "completed"
    events = h.events(handle)
    assert events[-3:] == ["decided", "lesson_completed", "completed"], events
    assert "cancelled" not in events and "expired" not in events
    assert h.lesson_progress("exam").success is True
