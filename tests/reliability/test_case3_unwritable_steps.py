"""Issue 20, case 3: a write that can never succeed was retried inside the workflow task until
the server terminated the workflow.

Step writes were retried without limit and a refused move (`IllegalTransition`) was retryable:
the workflow task heartbeat (3 events every 8 s) and the 51,200-event limit came in about 39 h.
`create_session`, a local activity, grew the history the same way through a long vendor
outage. Now a refused write is not retried: the attempt shows `error` in Temporal with the
reason and waits for ops (`resume`); and long retries wait on durable timers. On the real
Temporal dev server, against the ProctorFree emulator over HTTP.
"""

from __future__ import annotations

import asyncio

from temporalio.api.enums.v1 import EventType

from models.api import LessonIn
from models.tables import Attempt
from store.db import transaction
from tests.support.harness import running_harness
from workflows import search_attributes
from workflows.attempt import AttemptWorkflow

EXAM = LessonIn(id="exam", title="Final exam", type="quiz", required=True)


async def history_length(handle) -> int:
    return (await handle.describe()).raw_description.workflow_execution_info.history_length


async def test_a_refused_write_waits_for_ops_without_growing_the_history(dev_server, tmp_path):
    async with running_harness(dev_server.client, tmp_path) as h:
        h.seed([EXAM], {"exam": ("record_only", True)})
        handle = await h.open("exam")
        await h.session_id(handle)
        await h.wait_for(handle, lambda s: s.status == "awaiting_setup")
        with transaction(h.sessions) as session:  # someone wrote behind the workflow's back
            session.get(Attempt, h.attempt(handle).id).status = "completed"

        await handle.signal(AttemptWorkflow.learner_started)
        state = await h.wait_for(handle, lambda s: "database refused a step" in s.waiting_for, timeout=30)
        assert "completed cannot move to in_progress" in state.waiting_for
        described = await handle.describe()
        assert described.typed_search_attributes.get(search_attributes.ATTEMPT_STATUS) == "error"
        before = await history_length(handle)
        await asyncio.sleep(12)  # a workflow task heartbeat came every 8 s while a write was retried
        assert await history_length(handle) == before, "the history does not grow while it waits"

        with transaction(h.sessions) as session:  # ops put it right, then resume
            session.get(Attempt, h.attempt(handle).id).status = "awaiting_setup"
        await handle.signal(AttemptWorkflow.resume)
        await h.wait_for(handle, lambda s: s.status == "in_progress", timeout=30)
        await h.attempt_when(handle, lambda a: a.status == "in_progress")
        assert h.events(handle)[-1] == "learner_started"


async def test_a_long_vendor_outage_at_session_creation_waits_on_durable_timers(dev_server, tmp_path):
    async with running_harness(dev_server.client, tmp_path, vendor_timeout=1.0) as h:
        h.seed([EXAM], {"exam": ("record_only", True)})
        await h.set_faults(error_rate=1.0, error_kinds=["5xx"])
        handle = await h.open("exam")
        await asyncio.sleep(20)
        await h.set_faults(error_rate=0.0)
        await h.session_id(handle)

        history = await handle.fetch_history()
        kinds = [EventType.Name(event.event_type) for event in history.events]
        assert "EVENT_TYPE_TIMER_STARTED" in kinds, "a backoff past a few seconds is a durable timer"
        completed_tasks = kinds.count("EVENT_TYPE_WORKFLOW_TASK_COMPLETED")
        assert completed_tasks <= 8, f"{completed_tasks} workflow tasks in 20 s of outage: {kinds}"
