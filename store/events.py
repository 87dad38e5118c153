"""The outbox: events written in the transaction of the change they report.

`emit` queues an event on the session; when the transaction commits, its events get their
organisation's next positions (one counter row per organisation, taken last, so positions commit
in order) and, when the organisation has an endpoint, a pending delivery each. A rolled-back
transaction emits nothing. The feed reads the events; `workflows/event_delivery.py` delivers them.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, col, select

from models import events as shapes
from models.events import DeliveryState, EventType, stream_of
from models.tables import EventCounter, EventDelivery, EventEndpoint, OutboundEvent, utcnow

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


def tell_review_task_escalated(session: Session, task: Any, why: str, at: datetime | None = None) -> None:
    """`review_task.escalated`: overdue, or its two reviewers disagreed; priority raised."""
    data = {**shapes.review_task_changed(task, None), "priority": task.priority, "why": why}
    data.pop("previous_state")
    emit(session, task.org_id, task.course_id, task.learner_id, EventType.REVIEW_TASK_ESCALATED, data, at)


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
