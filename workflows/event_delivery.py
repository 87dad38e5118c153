"""Events to the LMS, delivered: one workflow per stream (a learner in a course), one dispatcher.

The outbox (`store/events.py`) holds every event and, while the organisation has an endpoint,
its pending delivery. The dispatcher's activity watches for deliveries no stream was told of
and wakes their stream's workflow (signal-with-start). A stream delivers its pending events one
by one, oldest first, each as an activity that Temporal retries with exponential backoff for the
delivery window; an event still undelivered then is marked failed and the stream goes on. With
nothing pending for a while, the stream's workflow ends; the next event starts it again.

Only event ids travel through these histories: what an event says is read from the database
by the activity that sends it.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta
from typing import Any

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.events import EventActivities

# The window in which an event is retried before it is marked failed ("at least three days").
DELIVERY_WINDOW = timedelta(days=3, hours=1)
DELIVERY_TIMEOUT = timedelta(seconds=30)  # one POST, its response included
DATABASE_CALL = timedelta(seconds=30)
IDLE = timedelta(minutes=1)  # a stream with nothing to deliver waits this long, then ends
CONTINUE_AFTER = 500  # deliveries per run, before it continues as new with a short history
DISPATCH_HEARTBEAT = timedelta(seconds=10)  # a dead worker's dispatcher is taken over this soon
DISPATCH_RUNS = 100  # runs of the dispatcher's activity (one per worker stop) before continuing as new


class StreamInput(BaseModel):
    org_id: str
    stream: str
    first_retry_seconds: float = 5.0  # doubles each try, up to max_retry_seconds
    max_retry_seconds: float = 3600.0


def stream_workflow_id(stream: str) -> str:
    return f"events-{stream}"


@workflow.defn
class EventStreamWorkflow:
    def __init__(self) -> None:
        self._woken = False

    @workflow.signal
    def wake(self) -> None:
        """New deliveries are pending (or some were redelivered)."""
        self._woken = True

    @workflow.run
    async def run(self, stream: StreamInput) -> int:
        retry = RetryPolicy(
            initial_interval=timedelta(seconds=stream.first_retry_seconds),
            backoff_coefficient=2.0,
            maximum_interval=timedelta(seconds=stream.max_retry_seconds),
        )
        delivered = 0
        while True:
            self._woken = False
            pending = await workflow.execute_activity(
                EventActivities.pending_events, stream.stream, start_to_close_timeout=DATABASE_CALL
            )
            for event_id in pending:
                await self._deliver(event_id, retry)
                delivered += 1
            if delivered >= CONTINUE_AFTER or workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(stream)
            if pending:
                continue
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(lambda: self._woken, timeout=IDLE)
            if not self._woken:
                return delivered

    async def _deliver(self, event_id: str, retry: RetryPolicy) -> None:
        try:
            await workflow.execute_activity(
                EventActivities.deliver_event,
                event_id,
                start_to_close_timeout=DELIVERY_TIMEOUT,
                schedule_to_close_timeout=DELIVERY_WINDOW,
                retry_policy=retry,
            )
        except ActivityError:
            # Undelivered through the whole window: failed, redelivered on request; the stream goes on.
            await workflow.execute_activity(
                EventActivities.give_up, event_id, start_to_close_timeout=DATABASE_CALL
            )


@workflow.defn
class EventDispatchWorkflow:
    """Runs the dispatcher's activity for as long as the worker fleet runs: again when its worker
    stops (on another worker); a worker that dies with it leaves it to another after one missed
    heartbeat."""

    @workflow.run
    async def run(self) -> None:
        await keep_dispatching(EventActivities.dispatch)


async def keep_dispatching(dispatch: Any) -> None:
    """Run a dispatcher activity again and again (each run until its worker stops), then go on
    as a new run: the history of a dispatcher that runs for months stays short."""
    for _ in range(DISPATCH_RUNS):
        await workflow.execute_activity(
            dispatch,
            start_to_close_timeout=timedelta(days=3650),
            heartbeat_timeout=DISPATCH_HEARTBEAT,
            retry_policy=RetryPolicy(maximum_interval=timedelta(seconds=5)),
        )
    workflow.continue_as_new()
