"""A delivery the endpoint accepted while the database refused its record is recorded by the next
try, not sent again: the chaos test's minute-long outage otherwise sent every stream's event in
hand once per retry (seen accepted 4 times).

The real stream workflow and activities on the real dev server, a real SQLite database taken away
for a few seconds; the LMS's endpoint is an httpx mock transport (the edge), so the test counts
what was sent."""

from __future__ import annotations

import asyncio
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from cryptography.fernet import Fernet
from sqlmodel import select
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.worker import Worker

from activities.events import EventActivities, RetryTiming
from models.events import DeliveryState, EventType, stream_of
from models.tables import EventDelivery
from proctorflow.crypto import SecretBox
from store import catalog, db, deliveries, events
from store.db import make_engine, session_factory, transaction
from tests.support.database import POSTGRES, DatabaseOutage, fresh_database_url
from workflows.event_delivery import EventStreamWorkflow, StreamInput, stream_workflow_id

OUTAGE_S = 3.0  # lock waits of a second each: the record fails once or more before it is let through


@pytest.mark.skipif(bool(POSTGRES), reason="shortens SQLite's lock wait; the outage is SQLite's write lock")
async def test_an_accepted_event_whose_record_failed_is_recorded_by_the_next_try_not_sent_again(
    dev_server, tmp_path, monkeypatch
):
    monkeypatch.setattr(db, "LOCK_WAIT_MS", 1000)  # a write waits a second for the lock, then fails
    url = await asyncio.to_thread(fresh_database_url, tmp_path)
    engine = make_engine(url)
    sessions = session_factory(engine)
    box = SecretBox(Fernet.generate_key().decode())
    org = f"org-{uuid.uuid4().hex[:8]}"
    with transaction(sessions) as session:
        catalog.ensure_organisation(session, org, "Outage")
        deliveries.put_endpoint(session, org, "http://lms.test/events", False, box)
    with transaction(sessions) as session:
        events.emit(
            session, org, "course-1", "learner-1", EventType.LESSON_COMPLETED, {"course_id": "course-1"}
        )

    outage = DatabaseOutage(url)
    held, give_back = threading.Event(), threading.Event()
    posts: list[str] = []

    def hold() -> None:
        with outage.locked():
            held.set()
            give_back.wait(OUTAGE_S)

    async def endpoint(request: httpx.Request) -> httpx.Response:
        """The LMS accepts; the database goes away just as it answers."""
        posts.append(request.headers["webhook-id"])
        if len(posts) == 1:
            threading.Thread(target=hold, daemon=True).start()
            await asyncio.to_thread(held.wait)
        return httpx.Response(204)

    task_queue = f"outage-{uuid.uuid4().hex[:8]}"
    activities = EventActivities(
        sessions,
        box,
        httpx.AsyncClient(transport=httpx.MockTransport(endpoint)),
        task_queue,
        RetryTiming(0.2, 0.2),
    )
    stream = stream_of(org, "course-1", "learner-1")
    executor = ThreadPoolExecutor(max_workers=4)
    try:
        async with Worker(
            dev_server.client,
            task_queue=task_queue,
            workflows=[EventStreamWorkflow],
            activities=[activities.pending_events, activities.deliver_event, activities.give_up],
            activity_executor=executor,
        ):
            handle = await dev_server.client.start_workflow(
                EventStreamWorkflow.run,
                StreamInput(org_id=org, stream=stream, first_retry_seconds=0.2, max_retry_seconds=0.2),
                id=stream_workflow_id(stream),
                task_queue=task_queue,
                start_signal="wake",
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            )
            await _until_delivered(sessions)
            await handle.terminate(reason="the test is over")  # rather than wait out its idle minute
            history = await handle.fetch_history()
    finally:
        give_back.set()
        executor.shutdown()
        engine.dispose()

    tries = [
        e.activity_task_started_event_attributes.attempt
        for e in history.events
        if e.HasField("activity_task_started_event_attributes")
    ]
    # The record failed at least once (a loaded machine fits fewer tries into the outage).
    assert max(tries) >= 2, f"the delivery's record never failed: {tries}"
    assert len(posts) == 1, f"sent {len(posts)} times"
    with sessions() as session:
        (delivery,) = session.exec(select(EventDelivery)).all()
    assert (delivery.state, delivery.attempts, delivery.last_status_code) == (DeliveryState.DELIVERED, 1, 204)


async def _until_delivered(sessions, timeout: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        with sessions() as session:
            states = session.exec(select(EventDelivery.state)).all()
        if states == [DeliveryState.DELIVERED]:
            return
        assert loop.time() < deadline, f"not delivered: {states}"
        await asyncio.sleep(0.2)
