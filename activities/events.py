"""Events to the LMS: the dispatcher, and one delivery at a time (`workflows/event_delivery.py`).

A delivery is a Standard Webhooks POST: `webhook-id` (the event's id, the same on every try),
`webhook-timestamp`, and `webhook-signature` with one `v1,` signature per secret that still
signs (two during a rotation's overlap), made by the `standardwebhooks` package. Any 2xx is
delivered; anything else is a failed try, recorded, and raised for Temporal to retry. A 2xx is
kept in the activity's heartbeat details before it is recorded: when the database refuses that
record, the retry records it without sending the event again (only a worker killed between the
2xx and the heartbeat sends it twice). Neither the URL nor the response body is recorded or
raised: they may hold tokens or personal data.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from standardwebhooks.webhooks import Webhook
from temporalio import activity
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError

from models.events import DeliveryState
from models.tables import EventDelivery, EventEndpoint, OutboundEvent
from proctorflow.crypto import SecretBox
from store import deliveries
from store.db import SessionFactory, transaction

NOT_DELIVERED = "EventNotDelivered"
DISPATCH_EVERY = 0.5  # seconds between looks at the outbox


@dataclass(frozen=True)
class Delivery:
    """What one try sends, read from the database."""

    event_id: str
    url: str
    secrets: list[str]
    body: str


@dataclass(frozen=True)
class RetryTiming:
    first_retry_seconds: float
    max_retry_seconds: float


class EventActivities:
    def __init__(
        self,
        sessions: SessionFactory,
        box: SecretBox,
        http: httpx.AsyncClient,
        task_queue: str,
        retry: RetryTiming,
    ) -> None:
        self._sessions = sessions
        self._box = box
        self._http = http
        self._task_queue = task_queue
        self._retry = retry

    # --- The dispatcher --------------------------------------------------------------------

    @activity.defn
    async def dispatch(self) -> None:
        """Until its worker stops, wake the stream of every delivery no stream was told of. A
        new dispatcher (the last one's worker stopped or died) tells every stream with pending
        deliveries again: a stream told twice looks twice and finds nothing more."""
        await asyncio.to_thread(self._in_transaction, deliveries.forget_woken)
        while True:
            woken = await self._wake_streams()
            activity.heartbeat(woken)
            try:
                await asyncio.wait_for(activity.wait_for_worker_shutdown(), DISPATCH_EVERY)
            except TimeoutError:
                continue
            return  # its worker stops: the workflow runs it again, on another worker

    async def _wake_streams(self) -> int:
        from workflows.event_delivery import EventStreamWorkflow, StreamInput, stream_workflow_id

        waiting = await asyncio.to_thread(self._read, deliveries.deliveries_to_wake)
        streams = {(org_id, stream) for _, org_id, stream in waiting}
        client = activity.client()
        for org_id, stream in sorted(streams):
            await client.start_workflow(
                EventStreamWorkflow.run,
                StreamInput(
                    org_id=org_id,
                    stream=stream,
                    first_retry_seconds=self._retry.first_retry_seconds,
                    max_retry_seconds=self._retry.max_retry_seconds,
                ),
                id=stream_workflow_id(stream),
                task_queue=self._task_queue,
                start_signal="wake",
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            )
        ids = [event_id for event_id, _, _ in waiting]
        await asyncio.to_thread(self._in_transaction, lambda session: deliveries.mark_woken(session, ids))
        return len(streams)

    # --- A stream's deliveries -------------------------------------------------------------

    @activity.defn
    def pending_events(self, stream: str) -> list[str]:
        with self._sessions() as session:
            return deliveries.pending_in_stream(session, stream, limit=100)

    @activity.defn
    async def deliver_event(self, event_id: str) -> None:
        delivery = await asyncio.to_thread(self._read, lambda session: self._delivery(session, event_id))
        if delivery is None:
            return  # delivered already, or its endpoint is gone
        accepted = _accepted_before(activity.info().heartbeat_details)
        if accepted is not None:
            # An earlier try was accepted but its record failed (the database refused the write):
            # record it now rather than send the event again.
            status_code, at = accepted
            await asyncio.to_thread(
                self._in_transaction,
                lambda session: deliveries.record_try(session, event_id, status_code, None, at),
            )
            return
        at = datetime.now(UTC)
        signatures = " ".join(
            Webhook(secret).sign(event_id, at, delivery.body) for secret in delivery.secrets
        )
        headers = {
            "content-type": "application/json",
            "webhook-id": event_id,
            "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": signatures,
        }
        status_code, error = None, None
        try:
            response = await self._http.post(delivery.url, content=delivery.body, headers=headers)
            status_code = response.status_code
            if not response.is_success:
                error = f"the endpoint answered {status_code}"
        except httpx.TimeoutException:
            error = "the endpoint did not answer in time"
        except httpx.HTTPError as failed:
            error = f"the endpoint could not be reached ({type(failed).__name__})"
        if error is None:
            # Kept by Temporal for this delivery's next try, should the record below fail.
            activity.heartbeat(status_code, at.isoformat())
        await asyncio.to_thread(
            self._in_transaction,
            lambda session: deliveries.record_try(session, event_id, status_code, error, at),
        )
        if error is not None:
            raise ApplicationError(error, type=NOT_DELIVERED)

    @activity.defn
    def give_up(self, event_id: str) -> None:
        self._in_transaction(lambda session: deliveries.give_up(session, event_id))

    def _delivery(self, session, event_id: str) -> Delivery | None:
        delivery = session.get(EventDelivery, event_id)
        if delivery is None or delivery.state != DeliveryState.PENDING:
            return None
        endpoint = session.get(EventEndpoint, delivery.org_id)
        event = session.get(OutboundEvent, event_id)
        if endpoint is None or event is None:
            return None
        body = json.dumps(
            {"type": event.type, "timestamp": event.occurred_at.isoformat(), "data": event.data},
            separators=(",", ":"),
        )
        return Delivery(event_id, endpoint.url, deliveries.signing_secrets(endpoint, self._box), body)

    def _read(self, read):
        with self._sessions() as session:
            return read(session)

    def _in_transaction(self, write):
        with transaction(self._sessions) as session:
            return write(session)


def _accepted_before(details: Sequence[Any]) -> tuple[int, datetime] | None:
    """The status code and time of an earlier try the endpoint accepted, from the heartbeat
    details that try left; None when no earlier try got that far."""
    if len(details) != 2:
        return None
    status_code, at = details
    return int(status_code), datetime.fromisoformat(at)
