"""Events to the LMS: the endpoint they are delivered to, the feed, and the delivery log.

The endpoint's secret (Standard Webhooks, `whsec_...`) is shown once, when it is made or
rotated. The feed serves an LMS that cannot receive webhooks: the same events, the same ids, in
the organisation's order, long-polled so its client needs no polling loop of its own.
"""

from __future__ import annotations

import asyncio
import time

from fastapi import Depends, Query, Response
from sqlmodel import Session, col, select

from models.events import (
    DeliveryCounts,
    DeliveryList,
    DeliveryOut,
    DeliveryState,
    EventEndpointIn,
    EventEndpointOut,
    EventFeed,
    EventOut,
)
from models.tables import EventDelivery, EventEndpoint, OutboundEvent
from proctorflow.errors import Invalid, NotFound
from store import deliveries, events
from web.api.common import api_router, read, write
from web.auth import lms_org
from web.services import Services, services

router = api_router(tags=["events"])
FEED_LOOK_EVERY = 0.25  # seconds between looks at the outbox while a feed request waits
NO_ENDPOINT = "this organisation has no event endpoint: PUT /api/v1/event-endpoint {url} makes one"


@router.put("/event-endpoint", response_model=EventEndpointOut)
async def put_endpoint(
    body: EventEndpointIn, org_id: str = Depends(lms_org), svc: Services = Depends(services)
) -> EventEndpointOut:
    """Make the endpoint (its secret in the reply, once), change its URL, or rotate its secret."""

    def store(session: Session) -> EventEndpointOut:
        change = deliveries.put_endpoint(session, org_id, str(body.url), body.rotate_secret, svc.box)
        return _endpoint_out(session, change.endpoint, change.secret)

    return await write(svc, store)


@router.get("/event-endpoint", response_model=EventEndpointOut)
async def get_endpoint(org_id: str = Depends(lms_org), svc: Services = Depends(services)) -> EventEndpointOut:
    def look(session: Session) -> EventEndpointOut:
        endpoint = session.get(EventEndpoint, org_id)
        if endpoint is None:
            raise NotFound(NO_ENDPOINT)
        return _endpoint_out(session, endpoint, None)

    return await read(svc, look)


@router.delete("/event-endpoint", status_code=204)
async def delete_endpoint(org_id: str = Depends(lms_org), svc: Services = Depends(services)) -> Response:
    """Stop delivering: pending deliveries are cancelled; the feed keeps every event."""
    if not await write(svc, lambda session: deliveries.delete_endpoint(session, org_id)):
        raise NotFound(NO_ENDPOINT)
    return Response(status_code=204)


@router.get("/events", response_model=EventFeed)
async def event_feed(
    after: str = Query(default="0", description="the `next_cursor` of the last reply; 0 for the first event"),
    limit: int = Query(default=100, ge=1, le=500),
    wait: float = Query(default=0, ge=0, le=30, description="seconds to wait for an event when none is new"),
    org_id: str = Depends(lms_org),
    svc: Services = Depends(services),
) -> EventFeed:
    """Every event of the organisation after the cursor, in order; with `wait`, answered as soon
    as one exists, or empty when the wait is over."""
    # ASCII digits only ("²".isdigit() holds, and int() refuses it); at most 18, so any cursor fits
    # in the database's 64-bit position (a longer one overflowed there: a 500).
    if not (after.isascii() and after.isdigit() and len(after) <= 18):
        raise Invalid(f"after must be a cursor this feed returned (up to 18 digits), not {after[:40]!r}")
    position = int(after)
    deadline = time.monotonic() + wait
    while True:
        found = await read(svc, lambda session: events.feed(session, org_id, position, limit))
        if found or time.monotonic() >= deadline:
            break
        await asyncio.sleep(min(FEED_LOOK_EVERY, max(0.0, deadline - time.monotonic())))
    return EventFeed(
        events=[_event_out(event) for event in found],
        next_cursor=str(found[-1].position if found else position),
    )


@router.get("/event-deliveries", response_model=DeliveryList)
async def list_deliveries(
    status: DeliveryState | None = None,
    limit: int = Query(default=100, ge=1, le=500),
    org_id: str = Depends(lms_org),
    svc: Services = Depends(services),
) -> DeliveryList:
    """The delivery log, newest first."""

    def look(session: Session) -> DeliveryList:
        query = (
            select(EventDelivery, OutboundEvent.type)
            .join(OutboundEvent, col(OutboundEvent.id) == col(EventDelivery.event_id))
            .where(EventDelivery.org_id == org_id)
        )
        if status is not None:
            query = query.where(EventDelivery.state == status)
        rows = session.exec(query.order_by(col(EventDelivery.position).desc()).limit(limit)).all()
        return DeliveryList(items=[_delivery_out(delivery, type_) for delivery, type_ in rows])

    return await read(svc, look)


@router.post("/events/{event_id}/redeliver", status_code=202, response_model=DeliveryOut)
async def redeliver(
    event_id: str, org_id: str = Depends(lms_org), svc: Services = Depends(services)
) -> DeliveryOut:
    """Deliver an event again (a failed one, or one from before the endpoint), in its turn."""

    def again(session: Session) -> DeliveryOut:
        event = session.get(OutboundEvent, event_id)
        if event is None or event.org_id != org_id:
            raise NotFound(f"event {event_id} does not exist")
        if session.get(EventEndpoint, org_id) is None:
            raise NotFound(NO_ENDPOINT)
        return _delivery_out(deliveries.redeliver(session, event), event.type)

    return await write(svc, again)


def _endpoint_out(session: Session, endpoint: EventEndpoint, secret: str | None) -> EventEndpointOut:
    return EventEndpointOut(
        url=endpoint.url,
        secret=secret,
        created_at=endpoint.created_at,
        updated_at=endpoint.updated_at,
        previous_secret_expires_at=endpoint.previous_secret_expires_at
        if endpoint.previous_secret_sealed
        else None,
        deliveries=DeliveryCounts(**deliveries.delivery_counts(session, endpoint.org_id)),
    )


def _event_out(event: OutboundEvent) -> EventOut:
    return EventOut(id=event.id, type=event.type, timestamp=event.occurred_at, data=event.data)


def _delivery_out(delivery: EventDelivery, type_: str) -> DeliveryOut:
    return DeliveryOut(
        event_id=delivery.event_id,
        type=type_,
        state=DeliveryState(delivery.state),
        attempts=delivery.attempts,
        last_status_code=delivery.last_status_code,
        last_error=delivery.last_error,
        last_attempt_at=delivery.last_attempt_at,
        delivered_at=delivery.delivered_at,
    )
