"""The outbox: events written in the transaction of the change they report.

`emit` queues an event on the session; when the transaction commits, its events get their
organisation's next positions (one counter row per organisation, taken last, so positions commit
in order) and, when the organisation has an endpoint, a pending delivery each. A rolled-back
transaction emits nothing. The feed reads the events; `workflows/event_delivery.py` delivers them.
"""

from __future__ import annotations

import base64
import secrets
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy import func, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, col, select

from models import events as shapes
from models.events import SECRET_PREFIX, DeliveryState, EventType, stream_of
from models.tables import EventCounter, EventDelivery, EventEndpoint, OutboundEvent, utcnow
from proctorflow.crypto import SecretBox

PENDING = "proctorflow.outbox"


def emit(
    session: Session,
    org_id: str,
    course_id: str,
    learner_id: str,
    type: EventType,
    data: dict[str, Any],
    at: datetime | None = None,
) -> None:
    """Tell the LMS of a change made in this transaction, once it commits."""
    session.info.setdefault(PENDING, []).append(
        OutboundEvent(
            id=str(uuid.uuid4()),
            org_id=org_id,
            position=0,  # given at commit
            stream=stream_of(org_id, course_id, learner_id),
            type=type.value,
            occurred_at=at or utcnow(),
            data=data,
        )
    )


@sa_event.listens_for(OrmSession, "before_commit")
def _write_outbox(session: OrmSession) -> None:
    pending: list[OutboundEvent] = session.info.pop(PENDING, [])
    if not pending:
        return
    by_org: dict[str, list[OutboundEvent]] = defaultdict(list)
    for outbound in pending:
        by_org[outbound.org_id].append(outbound)
    for org_id, events in sorted(by_org.items()):
        last = _take_positions(session, org_id, len(events))
        endpoint = session.get(EventEndpoint, org_id) is not None
        for position, outbound in enumerate(events, start=last - len(events) + 1):
            outbound.position = position
            session.add(outbound)
            if endpoint:
                session.add(
                    EventDelivery(
                        event_id=outbound.id,
                        org_id=org_id,
                        stream=outbound.stream,
                        position=position,
                        state=DeliveryState.PENDING,
                    )
                )


@sa_event.listens_for(OrmSession, "after_rollback")
def _forget_outbox(session: OrmSession) -> None:
    session.info.pop(PENDING, None)


def _take_positions(session: OrmSession, org_id: str, count: int) -> int:
    """The organisation's counter moved on by `count`, under its row lock: the last position."""
    dialect = session.get_bind().dialect.name
    upsert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(EventCounter)
    statement = upsert.values(org_id=org_id, position=count).on_conflict_do_update(
        index_elements=["org_id"], set_={"position": EventCounter.position + count}
    )
    return session.execute(statement.returning(EventCounter.position)).scalar_one()


def tell_status(session: Session, attempt: Any, previous: str | None, at: datetime | None = None) -> None:
    """`attempt.status_changed`, when the attempt's status did change."""
    if previous is not None and str(previous) == str(attempt.status):
        return
    data = shapes.attempt_status_changed(attempt, previous)
    emit(
        session,
        attempt.org_id,
        attempt.course_id,
        attempt.learner_id,
        EventType.ATTEMPT_STATUS_CHANGED,
        data,
        at,
    )


def tell_review_task(session: Session, task: Any, previous: str | None, at: datetime | None = None) -> None:
    """`review_task.changed`, when the task is new or its state did change."""
    if previous is not None and str(previous) == str(task.state):
        return
    data = shapes.review_task_changed(task, previous)
    emit(session, task.org_id, task.course_id, task.learner_id, EventType.REVIEW_TASK_CHANGED, data, at)


# --- The feed --------------------------------------------------------------------------------


def feed(session: Session, org_id: str, after: int, limit: int) -> list[OutboundEvent]:
    """The organisation's events after position `after`, in order."""
    return list(
        session.exec(
            select(OutboundEvent)
            .where(OutboundEvent.org_id == org_id, OutboundEvent.position > after)
            .order_by(col(OutboundEvent.position))
            .limit(limit)
        )
    )


def last_position(session: Session, org_id: str) -> int:
    counter = session.get(EventCounter, org_id)
    return counter.position if counter else 0


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
