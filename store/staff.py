"""Staff actions in the store: what their steps change on the attempt, and voiding (or resetting)
an attempt whose workflow run has ended, which no run can do any more.

Every action is told to the LMS as `attempt.staff_action` (an extension as
`attempt.time_extended`): ids, the action and its figures, never the reason's text or who
(names may be in either); those stay in the attempt's steps."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from models.events import EventType, attempt_ids
from models.statuses import AttemptStatus, StepEvent, can_move
from models.tables import Attempt, AttemptEvent
from store import events

VOIDING = ("reset", "void")


def apply_step(session: Session, attempt: Attempt, event: str, detail: dict[str, Any], at: datetime) -> None:
    """What a staff step written by the workflow changes beyond the attempt's status."""
    if event == StepEvent.TIME_EXTENDED:
        attempt.allowed_minutes = detail["allowed_minutes"]
        tell(
            session,
            attempt,
            EventType.ATTEMPT_TIME_EXTENDED,
            at,
            minutes=detail["minutes"],
            allowed_minutes=detail["allowed_minutes"],
        )
    elif event in (StepEvent.VOIDED, StepEvent.STAFF_ACTION):
        if detail.get("action") == "reset":
            attempt.retake_granted = True
        tell(session, attempt, EventType.ATTEMPT_STAFF_ACTION, at, action=detail.get("action"))


def tell(session: Session, attempt: Attempt, type: EventType, at: datetime, **figures: Any) -> None:
    events.emit(
        session,
        attempt.org_id,
        attempt.course_id,
        attempt.learner_id,
        type,
        attempt_ids(attempt, **figures),
        at,
    )


def write_staff_step(
    session: Session,
    attempt: Attempt,
    event: StepEvent,
    status: AttemptStatus,
    detail: dict[str, Any],
    at: datetime,
) -> None:
    """A step written by staff or ops, not by a run (its run id is None: no run's later write
    undoes it): the attempt moves to `status`, the LMS is told."""
    seq = attempt.last_seq + 1
    previous, attempt.status = attempt.status, status
    events.tell_status(session, attempt, previous, at)
    attempt.parked_from, attempt.error_reason = None, None
    attempt.last_seq, attempt.updated_at = seq, at
    session.add(attempt)
    session.add(
        AttemptEvent(
            attempt_id=attempt.id, seq=seq, run_id=None, at=at, event=event, status=status, detail=detail
        )
    )


def void_ended_attempt(
    session: Session, attempt: Attempt, action: str, reason: str, by: str, at: datetime
) -> bool:
    """Void (or reset) an attempt whose run has ended (completed, expired): a step written by
    staff (run id None), the status `voided` (its review task was closed when it ended). Its record stays:
    the lesson's completion it brought is the LMS's to change (manual overrides). False when it
    was voided already."""
    current = AttemptStatus(attempt.status)
    if current == AttemptStatus.VOIDED or not can_move(current, AttemptStatus.VOIDED):
        return False
    detail = {"action": action, "reason": reason, "by": by}
    write_staff_step(session, attempt, StepEvent.VOIDED, AttemptStatus.VOIDED, detail, at)
    apply_step(session, attempt, StepEvent.VOIDED, detail, at)
    session.flush()
    return True
