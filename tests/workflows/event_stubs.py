"""In-memory stand-ins for the event workflows' activities (`activities/events.py`): the outbox in
the database and the LMS's endpoint, the edges the real activities talk to.

They are registered under the real activities' names and take and return the same payloads, so
the real `EventStreamWorkflow` and `EventDispatchWorkflow` run against them on the time-skipping
server. The endpoint refuses an event as many times as a test says (for ever: `ALWAYS`); every
try is kept with the workflow time it was scheduled at, so a test asserts order, backoff and the
delivery window in workflow time.

    outbox = Outbox()
    outbox.add(STREAM, "e1", "e2")
    outbox.refuse("e2", times=2)
    Worker(client, task_queue=..., workflows=[EventStreamWorkflow], activities=outbox.activities())
    ...
    assert outbox.accepted == ["e1", "e2"]
"""

from __future__ import annotations

import asyncio
import math
import os
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from temporalio import activity
from temporalio.client import WorkflowHandle
from temporalio.exceptions import ApplicationError

from activities.events import NOT_DELIVERED
from models.events import DeliveryState
from tests.support.harness import HISTORIES

ALWAYS = math.inf
STREAM = str(uuid.uuid5(uuid.NAMESPACE_URL, "event-stubs:learner-1-in-course-1"))
PAGE = 100  # what `store.events.pending_in_stream` returns at most, as the real activity asks


@dataclass(frozen=True)
class Try:
    event_id: str
    attempt: int  # Temporal's attempt number of the delivery's activity
    at: datetime  # workflow time the try started at
    accepted: bool


class Outbox:
    """The database's deliveries and the LMS's endpoint, in memory.

    The database: each stream's events in the order they were written, each `pending` until it is
    delivered (`delivered`) or given up on (`failed`). The endpoint: accepts every event but those
    `refuse(...)` names, for as many tries as it says; it keeps what it accepted, in order.
    """

    def __init__(self) -> None:
        self.streams: dict[str, list[str]] = defaultdict(list)
        self.state: dict[str, DeliveryState] = {}
        self.refusals: dict[str, float] = {}
        self.accepted: list[str] = []
        self.tries: list[Try] = []
        self.given_up: list[tuple[str, datetime]] = []
        self.calls: list[tuple[str, Any]] = []

    # --- What the test makes happen -----------------------------------------------------------

    def add(self, stream: str, *event_ids: str) -> None:
        """Events written (and committed) in this order, each with a pending delivery."""
        for event_id in event_ids:
            self.streams[stream].append(event_id)
            self.state[event_id] = DeliveryState.PENDING

    def refuse(self, event_id: str, times: float = ALWAYS) -> None:
        """The endpoint answers this event 503 for its first `times` tries."""
        self.refusals[event_id] = times

    # --- What happened ------------------------------------------------------------------------

    @property
    def called(self) -> list[str]:
        return [name for name, _ in self.calls]

    def tries_of(self, event_id: str) -> list[Try]:
        return [t for t in self.tries if t.event_id == event_id]

    def activities(self) -> list[Callable[..., Any]]:
        return [self.pending_events, self.deliver_event, self.give_up]

    # --- The activities -----------------------------------------------------------------------

    @activity.defn(name="pending_events")
    async def pending_events(self, stream: str) -> list[str]:
        pending = [e for e in self.streams[stream] if self.state[e] == DeliveryState.PENDING][:PAGE]
        self.calls.append(("pending_events", pending))
        return pending

    @activity.defn(name="deliver_event")
    async def deliver_event(self, event_id: str) -> None:
        self.calls.append(("deliver_event", event_id))
        if self.state.get(event_id) != DeliveryState.PENDING:
            return  # delivered already, or its endpoint is gone: as the real activity does
        info = activity.info()
        refused = sum(1 for t in self.tries if t.event_id == event_id) < self.refusals.get(event_id, 0)
        self.tries.append(Try(event_id, info.attempt, info.started_time, not refused))
        if refused:
            raise ApplicationError("the endpoint answered 503", type=NOT_DELIVERED)
        self.accepted.append(event_id)
        self.state[event_id] = DeliveryState.DELIVERED

    @activity.defn(name="give_up")
    async def give_up(self, event_id: str) -> None:
        self.calls.append(("give_up", event_id))
        if self.state.get(event_id) == DeliveryState.PENDING:
            self.state[event_id] = DeliveryState.FAILED
            self.given_up.append((event_id, activity.info().started_time))


class Dispatcher:
    """The dispatcher's activity, in memory: it runs until its worker stops, as the real one
    does (`EventActivities.dispatch`), heartbeating; each run is counted when it starts."""

    def __init__(self) -> None:
        self.started = 0
        self.returned = 0

    @activity.defn(name="dispatch")
    async def dispatch(self) -> None:
        self.started += 1
        while True:
            activity.heartbeat(self.started)
            try:
                await asyncio.wait_for(activity.wait_for_worker_shutdown(), 0.5)
            except TimeoutError:
                continue
            self.returned += 1
            return


async def eventually(predicate: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    """Wait (in real time: this does not skip the test server's clock) until `predicate` holds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        await asyncio.sleep(0.02)


async def record_history(handle: WorkflowHandle, name: str) -> None:
    """Keep this run's history for the replay test (`tests/workflows/test_replay.py`) when asked
    to, beside the attempt's histories: as `Harness.save_history` does."""
    if os.environ.get("PROCTORFLOW_RECORD_HISTORIES") == "1":
        HISTORIES.mkdir(parents=True, exist_ok=True)
        (HISTORIES / f"{name}.json").write_text((await handle.fetch_history()).to_json())
