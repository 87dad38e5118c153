"""Deliveries of the outbox's events to the organisation's endpoint: which are pending and
whose stream must be told, each try's outcome, the endpoint and its signing secrets, and what
ops see and redo (`proctorflow events`). Delivery itself: `activities/events.py`."""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from models.events import SECRET_PREFIX, DeliveryState
from models.tables import EventDelivery, EventEndpoint, OutboundEvent, utcnow
from proctorflow.crypto import SecretBox

# --- Deliveries --------------------------------------------------------------------------------


def deliveries_to_wake(session: Session, limit: int = 1000) -> list[tuple[str, str, str]]:
    """(event id, org, stream) of pending deliveries whose stream was not told of them yet."""
    rows = session.exec(
        select(EventDelivery.event_id, EventDelivery.org_id, EventDelivery.stream)
        .where(EventDelivery.state == DeliveryState.PENDING, col(EventDelivery.woken).is_(False))
        .order_by(col(EventDelivery.created_at))
        .limit(limit)
    ).all()
    return [(event_id, org_id, stream) for event_id, org_id, stream in rows]


def mark_woken(session: Session, event_ids: list[str]) -> None:
    """Their streams were told. Only these: a delivery added since waits for the next look."""
    if event_ids:
        session.execute(
            update(EventDelivery).where(col(EventDelivery.event_id).in_(event_ids)).values(woken=True)
        )


def forget_woken(session: Session) -> None:
    """Every pending delivery's stream is to be told again (a new dispatcher starts)."""
    session.execute(
        update(EventDelivery).where(EventDelivery.state == DeliveryState.PENDING).values(woken=False)
    )


def pending_in_stream(session: Session, stream: str, limit: int) -> list[str]:
    """The stream's pending event ids, oldest first."""
    return list(
        session.exec(
            select(EventDelivery.event_id)
            .where(EventDelivery.stream == stream, EventDelivery.state == DeliveryState.PENDING)
            .order_by(col(EventDelivery.position))
            .limit(limit)
        )
    )


def record_try(
    session: Session, event_id: str, status_code: int | None, error: str | None, at: datetime
) -> None:
    delivery = session.get(EventDelivery, event_id)
    if delivery is None:
        return
    delivery.attempts += 1
    delivery.last_status_code, delivery.last_error, delivery.last_attempt_at = status_code, error, at
    if error is None:
        delivery.state, delivery.delivered_at = DeliveryState.DELIVERED, at
    session.add(delivery)


def signing_secrets(endpoint: EventEndpoint, box: SecretBox, now: datetime | None = None) -> list[str]:
    """The secrets that sign a delivery now: the current one, and the previous one during the
    overlap after a rotation."""
    secrets = [box.open(endpoint.secret_sealed)]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret_sealed and expires and expires > (now or utcnow()):
        secrets.append(box.open(endpoint.previous_secret_sealed))
    return secrets


def give_up(session: Session, event_id: str) -> None:
    delivery = session.get(EventDelivery, event_id)
    if delivery is not None and delivery.state == DeliveryState.PENDING:
        delivery.state = DeliveryState.FAILED
        session.add(delivery)


def redeliver(session: Session, event: OutboundEvent) -> EventDelivery:
    """Deliver the event again (or for the first time: it came before the endpoint)."""
    delivery = session.get(EventDelivery, event.id) or EventDelivery(
        event_id=event.id, org_id=event.org_id, stream=event.stream, position=event.position, state=""
    )
    delivery.state, delivery.woken = DeliveryState.PENDING, False
    session.add(delivery)
    return delivery


def cancel_pending(session: Session, org_id: str) -> int:
    """The endpoint is gone: its pending deliveries will not be made."""
    result = session.execute(
        update(EventDelivery)
        .where(EventDelivery.org_id == org_id, EventDelivery.state == DeliveryState.PENDING)
        .values(state=DeliveryState.CANCELLED)
    )
    return result.rowcount or 0


def delivery_counts(session: Session, org_id: str) -> dict[str, int]:
    rows = session.exec(
        select(EventDelivery.state, func.count())
        .where(EventDelivery.org_id == org_id)
        .group_by(col(EventDelivery.state))
    ).all()
    counts = {state.value: 0 for state in DeliveryState}
    counts.update({state: count for state, count in rows})
    return counts


# --- The endpoint ------------------------------------------------------------------------------

ROTATION_OVERLAP = timedelta(hours=24)


@dataclass(frozen=True)
class EndpointChange:
    endpoint: EventEndpoint
    secret: str | None  # shown once: a new endpoint's, or a rotated one's


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def put_endpoint(
    session: Session, org_id: str, url: str, rotate_secret: bool, box: SecretBox
) -> EndpointChange:
    """Create the endpoint (with a new secret), or change its URL; `rotate_secret` issues a new
    secret while the old one signs for ROTATION_OVERLAP more."""
    now = utcnow()
    endpoint = session.get(EventEndpoint, org_id, with_for_update=True)
    secret = None
    if endpoint is None:
        secret = new_secret()
        endpoint = EventEndpoint(org_id=org_id, url=url, secret_sealed=box.seal(secret), created_at=now)
    elif rotate_secret:
        secret = new_secret()
        endpoint.previous_secret_sealed = endpoint.secret_sealed
        endpoint.previous_secret_expires_at = now + ROTATION_OVERLAP
        endpoint.secret_sealed = box.seal(secret)
    endpoint.url, endpoint.updated_at = url, now
    session.add(endpoint)
    return EndpointChange(endpoint, secret)


def delete_endpoint(session: Session, org_id: str) -> bool:
    endpoint = session.get(EventEndpoint, org_id)
    if endpoint is None:
        return False
    cancel_pending(session, org_id)
    session.delete(endpoint)
    return True


# --- Ops ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrgDeliveries:
    org_id: str
    endpoint_url: str | None
    counts: dict[str, int]
    oldest_pending_at: datetime | None


def delivery_overview(session: Session) -> list[OrgDeliveries]:
    """Per organisation with an endpoint or deliveries: its counts and its oldest pending one."""
    endpoints = {e.org_id: e.url for e in session.exec(select(EventEndpoint))}
    orgs = set(endpoints) | set(session.exec(select(EventDelivery.org_id).distinct()))
    overview = []
    for org_id in sorted(orgs):
        oldest = session.exec(
            select(func.min(EventDelivery.created_at)).where(
                EventDelivery.org_id == org_id, EventDelivery.state == DeliveryState.PENDING
            )
        ).one()
        overview.append(
            OrgDeliveries(org_id, endpoints.get(org_id), delivery_counts(session, org_id), oldest)
        )
    return overview


def failed_deliveries(
    session: Session, org_id: str | None, limit: int = 100
) -> list[tuple[EventDelivery, str]]:
    """Failed deliveries, newest first, with their event's type."""
    query = (
        select(EventDelivery, OutboundEvent.type)
        .join(OutboundEvent, col(OutboundEvent.id) == col(EventDelivery.event_id))
        .where(EventDelivery.state == DeliveryState.FAILED)
    )
    if org_id is not None:
        query = query.where(EventDelivery.org_id == org_id)
    return [(d, t) for d, t in session.exec(query.order_by(col(EventDelivery.position).desc()).limit(limit))]


def redeliver_failed(session: Session, org_id: str | None) -> int:
    """Every failed delivery (of one organisation) pending again, to be delivered in its turn."""
    query = update(EventDelivery).where(EventDelivery.state == DeliveryState.FAILED)
    if org_id is not None:
        query = query.where(EventDelivery.org_id == org_id)
    return session.execute(query.values(state=DeliveryState.PENDING, woken=False)).rowcount or 0
