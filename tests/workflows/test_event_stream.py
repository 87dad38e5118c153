"""Events to the LMS, one stream's workflow and the dispatcher's: the real `EventStreamWorkflow`
and `EventDispatchWorkflow` on the time-skipping server, their activities stubbed in memory at
the edges (the outbox and the LMS's endpoint: tests/workflows/event_stubs.py). A three-day
delivery window passes in a second.

Each test records its history for `test_replay.py` (PROCTORFLOW_RECORD_HISTORIES=1): every path
of the two workflows replays against today's code. tests/events/test_delivery.py tells the same
stories through the real activities, database and endpoint on the dev server.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle, WorkflowHistory
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from cli.worker import SHUTDOWN_GRACE, start_event_dispatch
from models.events import DeliveryState
from proctorflow.settings import Settings
from tests.workflows.event_stubs import STREAM, Dispatcher, Outbox, eventually, record_history
from workflows.event_delivery import (
    CONTINUE_AFTER,
    DELIVERY_WINDOW,
    IDLE,
    EventDispatchWorkflow,
    EventStreamWorkflow,
    StreamInput,
    stream_workflow_id,
)


@asynccontextmanager
async def stream_worker(env: WorkflowEnvironment, outbox: Outbox) -> AsyncIterator[str]:
    """A worker with the stubs on its own task queue; yields the queue."""
    task_queue = f"events-{uuid.uuid4().hex[:10]}"
    async with Worker(
        env.client, task_queue=task_queue, workflows=[EventStreamWorkflow], activities=outbox.activities()
    ):
        yield task_queue


async def wake(env: WorkflowEnvironment, task_queue: str, stream: str = STREAM) -> WorkflowHandle:
    """What the dispatcher does for a stream with new deliveries (`EventActivities._wake_streams`):
    signal-with-start its workflow, the production retry timing in its input."""
    return await env.client.start_workflow(
        EventStreamWorkflow.run,
        StreamInput(org_id="org-1", stream=stream),
        id=stream_workflow_id(stream),
        task_queue=task_queue,
        start_signal="wake",
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )


def events(history: WorkflowHistory, *kinds: int) -> list:
    return [e for e in history.events if e.event_type in kinds]


def lasted(history: WorkflowHistory) -> timedelta:
    """Workflow time from the run's start to its close, to the second."""
    first, last = history.events[0].event_time.ToDatetime(), history.events[-1].event_time.ToDatetime()
    return timedelta(seconds=round((last - first).total_seconds()))


def ids(prefix: str, count: int) -> list[str]:
    return [f"{prefix}-{n:04d}" for n in range(count)]


# --- A stream ------------------------------------------------------------------------------------


async def test_a_streams_events_are_delivered_one_at_a_time_in_the_order_they_were_written(time_skipping):
    outbox = Outbox()
    written = ids("event", 5)
    outbox.add(STREAM, *written)
    outbox.add("another-learners-stream", "not-this-streams")
    async with stream_worker(time_skipping, outbox) as task_queue:
        handle = await wake(time_skipping, task_queue)
        delivered = await handle.result()
        await record_history(handle, "events_stream_delivered_in_order")

    assert delivered == 5 and outbox.accepted == written
    assert outbox.state["not-this-streams"] == DeliveryState.PENDING, "another stream's event is not its own"
    # One delivery at a time: each is asked for only once the one before it was accepted.
    assert outbox.called == ["pending_events", *["deliver_event"] * 5, "pending_events"]
    assert all(t.attempt == 1 for t in outbox.tries)


async def test_a_refused_delivery_is_retried_with_backoff_and_the_stream_waits_for_it(time_skipping):
    outbox = Outbox()
    outbox.add(STREAM, "first", "refused-twice", "third")
    outbox.refuse("refused-twice", times=2)
    async with stream_worker(time_skipping, outbox) as task_queue:
        handle = await wake(time_skipping, task_queue)
        assert await handle.result() == 3
        await record_history(handle, "events_stream_retried_then_delivered")

    assert outbox.accepted == ["first", "refused-twice", "third"], "the next event waited its turn"
    tries = outbox.tries_of("refused-twice")
    assert [(t.attempt, t.accepted) for t in tries] == [(1, False), (2, False), (3, True)]
    # The first retry after 5 s, doubling (StreamInput's production timing).
    waits = [round((b.at - a.at).total_seconds()) for a, b in zip(tries, tries[1:], strict=False)]
    assert waits == [5, 10]
    assert outbox.tries_of("third")[0].at >= tries[-1].at
    assert "give_up" not in outbox.called


async def test_an_event_refused_for_the_whole_window_is_marked_failed_and_the_stream_goes_on(time_skipping):
    outbox = Outbox()
    outbox.add(STREAM, "before", "never-accepted", "after")
    outbox.refuse("never-accepted")
    async with stream_worker(time_skipping, outbox) as task_queue:
        handle = await wake(time_skipping, task_queue)
        assert await handle.result() == 3
        await record_history(handle, "events_stream_given_up_after_the_window")

    assert outbox.accepted == ["before", "after"]
    assert outbox.state["never-accepted"] == DeliveryState.FAILED
    tries = outbox.tries_of("never-accepted")
    ((given_up, at),) = outbox.given_up
    window = at - tries[0].at
    # Tried for at least three days (the retry that would land past the window is not made),
    # backing off from 5 s, doubling, to once an hour: 1 + 10 + 71 tries.
    assert given_up == "never-accepted" and timedelta(days=3) <= window <= DELIVERY_WINDOW, window
    assert len(tries) == 82 and not any(t.accepted for t in tries)
    hourly = [round((b.at - a.at).total_seconds()) for a, b in zip(tries[10:], tries[11:], strict=False)]
    assert set(hourly) == {3600}
    # The stream went on: the next event was delivered after the give-up, at once.
    assert timedelta(0) <= outbox.tries_of("after")[0].at - at < timedelta(seconds=1)
    assert outbox.called.count("give_up") == 1


async def test_a_stream_woken_with_nothing_pending_ends_after_it_waited_idle(time_skipping):
    """Told twice (a new dispatcher tells every stream again): it looks, finds nothing, waits
    IDLE for a wake that does not come, and ends; the next event starts it again."""
    outbox = Outbox()
    async with stream_worker(time_skipping, outbox) as task_queue:
        handle = await wake(time_skipping, task_queue)
        assert await handle.result() == 0
        await record_history(handle, "events_stream_idle_end")
        history = await handle.fetch_history()

        outbox.add(STREAM, "later")
        again = await wake(time_skipping, task_queue)
        assert again.result_run_id != handle.result_run_id, "a new run for the next event"
        assert await again.result() == 1

    assert outbox.called == ["pending_events", "pending_events", "deliver_event", "pending_events"]
    assert lasted(history) == IDLE
    assert len(events(history, EventType.EVENT_TYPE_TIMER_FIRED)) == 1
    assert outbox.accepted == ["later"]


async def test_a_stream_waiting_idle_is_woken_by_the_next_event_and_delivers_it(time_skipping):
    outbox = Outbox()
    outbox.add(STREAM, "first")
    async with stream_worker(time_skipping, outbox) as task_queue:
        handle = await wake(time_skipping, task_queue)
        # Delivered, and looked again: nothing; it waits. Half its idle time passes, then the next event.
        await eventually(
            lambda: outbox.called == ["pending_events", "deliver_event", "pending_events"], "idle"
        )
        await time_skipping.sleep(IDLE / 2)
        outbox.add(STREAM, "second")
        await handle.signal(EventStreamWorkflow.wake)
        assert await handle.result() == 2
        await record_history(handle, "events_stream_woken_while_idle")
        history = await handle.fetch_history()

    assert outbox.accepted == ["first", "second"]
    # One run: the wake cancelled its idle timer; the next idle wait ran out and ended it.
    kinds = [
        e.event_type
        for e in events(
            history,
            EventType.EVENT_TYPE_TIMER_STARTED,
            EventType.EVENT_TYPE_TIMER_CANCELED,
            EventType.EVENT_TYPE_TIMER_FIRED,
            EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
        )
    ]
    assert kinds == [
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,  # the start's
        EventType.EVENT_TYPE_TIMER_STARTED,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
        EventType.EVENT_TYPE_TIMER_CANCELED,
        EventType.EVENT_TYPE_TIMER_STARTED,
        EventType.EVENT_TYPE_TIMER_FIRED,
    ]
    assert lasted(history) == IDLE / 2 + IDLE


async def test_a_stream_continues_as_new_after_its_deliveries_per_run_and_loses_no_event(time_skipping):
    outbox = Outbox()
    written = ids("event", CONTINUE_AFTER + 20)
    outbox.add(STREAM, *written)
    async with stream_worker(time_skipping, outbox) as task_queue:
        handle = await wake(time_skipping, task_queue)
        assert await handle.result() == 20, "the run after it delivered the rest"
        first = time_skipping.client.get_workflow_handle(handle.id, run_id=handle.result_run_id)
        history = await first.fetch_history()
        await record_history(first, "events_stream_continued_as_new")

    assert outbox.accepted == written and all(t.attempt == 1 for t in outbox.tries)
    assert history.events[-1].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
    delivered_in_first = [
        e
        for e in events(history, EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
        if e.activity_task_scheduled_event_attributes.activity_type.name == "deliver_event"
    ]
    assert len(delivered_in_first) == CONTINUE_AFTER


# --- The dispatcher ------------------------------------------------------------------------------


async def test_the_dispatcher_runs_again_on_another_worker_when_its_worker_stops(time_skipping):
    """Its activity returns when its worker stops (`wait_for_worker_shutdown`); the workflow runs
    it again, on the worker still running. Every worker asks for the dispatcher at start: one
    runs."""
    settings = Settings(task_queue=f"dispatch-{uuid.uuid4().hex[:10]}")
    dispatcher = Dispatcher()

    def worker() -> Worker:
        # Uncached: the test server does not hand a stopped worker's sticky workflow tasks on to
        # the task queue (the real server does after a few seconds).
        return Worker(
            time_skipping.client,
            task_queue=settings.event_task_queue,
            workflows=[EventDispatchWorkflow],
            activities=[dispatcher.dispatch],
            max_cached_workflows=0,
            graceful_shutdown_timeout=SHUTDOWN_GRACE,  # as `proctorflow worker`'s
        )

    async with worker():
        await start_event_dispatch(time_skipping.client, settings)
        await eventually(lambda: dispatcher.started == 1, "the dispatcher runs")
        handle = time_skipping.client.get_workflow_handle(f"event-dispatch-{settings.task_queue}")
        first_run = (await handle.describe()).run_id
    assert dispatcher.returned == 1, "it returned as its worker stopped"
    async with worker():
        await start_event_dispatch(time_skipping.client, settings)  # the next worker's start
        await eventually(lambda: dispatcher.started == 2, "the dispatcher runs again", timeout=30)
        assert (await handle.describe()).run_id == first_run, "one dispatcher, however many workers ask"
        await handle.terminate(reason="the test is over")
    await record_history(handle, "events_dispatch_runs_again")
    history = await handle.fetch_history()

    runs = events(history, EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
    returned = events(history, EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED)
    assert (len(runs), len(returned)) == (2, 1), "run again after its worker stopped; the second still runs"
