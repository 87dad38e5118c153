"""The LMS's event endpoint in the chaos test (`test_chaos.py`): subscribed before the attempts
start, served by `tests/support/receiver.py` (which verifies every delivery with the
`standardwebhooks` package), while the worker process that delivers is SIGKILLed, Temporal
restarts and the database goes away for a minute.

Afterwards every event the feed holds for the chaos course must have been accepted: at least
once (a worker killed between the endpoint's 2xx and the delivery's record sends it again; the
LMS dedupes by id), at most twice, in each stream's order, each attempt's status changes without
a gap, the attempts ops terminated ending `expired`, and no delivery `failed`.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

import httpx
from sqlmodel import col, select
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from models.events import DeliveryState
from models.tables import EventDelivery
from store.db import SessionFactory
from tests.support.receiver import Receiver

FEED_PAGE = 500
MOST_COPIES = 2  # an event may be accepted again after a kill; more would be a delivery loop
STATUS_CHANGED = "attempt.status_changed"
TIMELINE_STEP = 30  # seconds between the summary's counts of accepted deliveries


class Arrivals(list):
    """The receiver's accepted deliveries (`Receiver(accepted=Arrivals())`), each timed as it
    arrives, for the summary's timeline."""

    def __init__(self) -> None:
        super().__init__()
        self.times: list[float] = []

    def append(self, received: Any) -> None:
        self.times.append(time.monotonic())
        super().append(received)

    def timeline(self, began: float) -> dict[int, int]:
        """Deliveries accepted by each TIMELINE_STEP seconds after `began`."""
        if not self.times:
            return {}
        last = int((self.times[-1] - began) // TIMELINE_STEP + 1) * TIMELINE_STEP
        return {
            mark: sum(1 for t in self.times if t - began <= mark)
            for mark in range(TIMELINE_STEP, last + 1, TIMELINE_STEP)
        }


async def subscribe(api: httpx.AsyncClient, receiver: Receiver) -> None:
    """The LMS makes its endpoint (`PUT /api/v1/event-endpoint`) and keeps the secret it is shown."""
    reply = await api.put("/event-endpoint", json={"url": receiver.url})
    assert reply.status_code == 200, reply.text
    receiver.secrets.append(reply.json()["secret"])


async def course_events(api: httpx.AsyncClient, course_id: str) -> list[dict[str, Any]]:
    """Every event the feed holds for the course, in the organisation's order (paged with its cursor)."""
    found, cursor = [], "0"
    while True:
        reply = await api.get("/events", params={"after": cursor, "limit": FEED_PAGE})
        assert reply.status_code == 200, reply.text
        page = reply.json()
        found += [e for e in page["events"] if e["data"].get("course_id") == course_id]
        if len(page["events"]) < FEED_PAGE:
            return found
        cursor = page["next_cursor"]


async def every_event_accepted(
    api: httpx.AsyncClient,
    receiver: Receiver,
    course_id: str,
    sessions: SessionFactory,
    patience: float,
) -> tuple[list[dict[str, Any]], float]:
    """Wait until the receiver accepted each of the course's events; the events, and how long
    that took. Timed out: which events are missing, and what their deliveries say."""
    began = time.monotonic()
    progress: list[tuple[int, int]] = []  # (seconds waited, events not accepted yet)
    while True:
        events = await course_events(api, course_id)
        missing = [e for e in events if e["id"] not in set(receiver.ids())]
        waited = time.monotonic() - began
        if not missing:
            return events, waited
        if not progress or waited - progress[-1][0] >= 10:
            progress.append((round(waited), len(missing)))
        if waited > patience:
            rows = await asyncio.to_thread(_deliveries, sessions, [e["id"] for e in missing[:10]])
            raise AssertionError(
                f"{len(missing)} of {len(events)} events never accepted after {patience:.0f}s "
                f"(not accepted yet, by seconds waited: {progress}); refused {dict(receiver.refused)}; "
                f"the first missing (type, status, delivery): "
                f"{[(e['type'], e['data'].get('status'), rows.get(e['id'])) for e in missing[:10]]}"
            )
        await asyncio.sleep(1.0)


@dataclass
class Delivered:
    """What the chaos test's summary says of the events."""

    events: int
    streams: int
    accepted: int  # deliveries the receiver accepted, repeats included
    repeated: dict[str, int]  # event id -> times accepted, for those accepted more than once
    retried: int  # deliveries whose activity ran more than once (a kill, a timeout, the outage)
    tries: int  # activity runs of the deliveries, all told
    drained_s: float  # from the end of reconcile until the last event was accepted
    timeline: dict[int, int]  # deliveries accepted by each 30 s since the attempts began

    def summary(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "streams": self.streams,
            "accepted": self.accepted,
            "duplicates": len(self.repeated),
            "deliveries_retried": self.retried,
            "delivery_tries": self.tries,
            "drained_s": round(self.drained_s, 1),
            "accepted_by_s": self.timeline,
        }


def assert_delivered_in_order_at_most_twice(
    events: list[dict[str, Any]], receiver: Receiver, terminated: set[str]
) -> dict[str, int]:
    """Each event accepted once or twice; each stream's (learner's) events in the feed's order;
    each attempt's status changes without a gap; every terminated attempt told `expired` last.
    Returns the repeats."""
    ours = {e["id"] for e in events}
    copies = Counter(r.id for r in receiver.accepted if r.id in ours)
    assert set(copies) == ours
    repeated = {event_id: n for event_id, n in copies.items() if n > 1}
    assert max(copies.values()) <= MOST_COPIES, sorted(repeated.items(), key=lambda kv: -kv[1])[:10]

    first_arrivals, seen = [], set()  # as the LMS sees them: a repeated id is dropped
    for received in receiver.accepted:
        if received.id in ours and received.id not in seen:
            seen.add(received.id)
            first_arrivals.append(received)
    by_learner: dict[str, list[str]] = defaultdict(list)
    for event in events:
        by_learner[event["data"]["learner_id"]].append(event["id"])
    arrived: dict[str, list[str]] = defaultdict(list)
    for received in first_arrivals:
        arrived[received.data["learner_id"]].append(received.id)
    out_of_order = [learner for learner, ids in by_learner.items() if arrived[learner] != ids]
    assert not out_of_order, f"streams delivered out of the feed's order: {out_of_order}"

    statuses: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for received in first_arrivals:
        if received.type == STATUS_CHANGED:
            statuses[received.data["attempt_id"]].append(received.data)
    for attempt_id, changes in statuses.items():
        chain = [(c["previous_status"], c["status"]) for c in changes]
        assert changes[0]["previous_status"] is None, (attempt_id, chain)
        gaps = [(a["status"], b["previous_status"]) for a, b in zip(changes, changes[1:], strict=False)]
        assert all(before == after for before, after in gaps), (attempt_id, chain)
    told = {attempt_id: changes[-1]["status"] for attempt_id, changes in statuses.items()}
    assert {attempt_id: told.get(attempt_id) for attempt_id in terminated} == dict.fromkeys(
        terminated, "expired"
    )
    return repeated


def assert_no_delivery_failed(sessions: SessionFactory, event_ids: list[str]) -> None:
    rows = _deliveries(sessions, event_ids)
    assert set(rows) == set(event_ids), "every event of the course has its delivery"
    states = Counter(state for state, _, _ in rows.values())
    assert states == Counter({DeliveryState.DELIVERED.value: len(event_ids)}), states


async def delivery_tries(client: Client) -> tuple[int, int, int]:
    """From the stream workflows' histories (every run): deliveries, those whose activity ran
    more than once, and activity runs all told. Temporal records a retried activity's last run
    only, with its attempt number."""
    deliveries = retried = tries = 0
    async for run in client.list_workflows('WorkflowType="EventStreamWorkflow"'):
        history = await client.get_workflow_handle(run.id, run_id=run.run_id).fetch_history()
        scheduled = {
            e.event_id
            for e in history.events
            if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
            and e.activity_task_scheduled_event_attributes.activity_type.name == "deliver_event"
        }
        for event in history.events:
            if event.event_type != EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
                continue
            started = event.activity_task_started_event_attributes
            if started.scheduled_event_id in scheduled:
                deliveries += 1
                tries += started.attempt
                retried += started.attempt > 1
    return deliveries, retried, tries


def _deliveries(sessions: SessionFactory, event_ids: list[str]) -> dict[str, tuple[str, int, str | None]]:
    """Each event's delivery: its state, tries recorded, last error."""
    with sessions() as session:
        rows = session.exec(select(EventDelivery).where(col(EventDelivery.event_id).in_(event_ids))).all()
        return {r.event_id: (r.state, r.attempts, r.last_error) for r in rows}
