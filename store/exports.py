"""An organisation's attempts and decisions as rows for the CSV exports, read in batches.

Keyset pagination: each batch is one short query in a session of its own that continues after
the last row of the batch before, by a stable order ((created_at, id) for attempts,
(completed_at, id) for decisions). An export of any size holds one batch at a time, and no
transaction or pooled connection waits on a slow download; SQLite and PostgreSQL alike. A row
written while an export runs may or may not be in it; none is in it twice.

Ids and states only: no learner's name or e-mail is read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_
from sqlmodel import Session, col, select

from models.statuses import ReviewState, StepEvent
from models.tables import Attempt, AttemptEvent, ReviewTask
from store.db import SessionFactory

BATCH_SIZE = 500

ATTEMPT_COLUMNS = (
    "attempt_id",
    "course_id",
    "lesson_id",
    "learner_id",
    "attempt_number",
    "method",
    "status",
    "allowed_minutes",
    "created_at",
    "finished_at",
    "exam_score",
    "exam_passed",
    "review_state",
    "decision",
    "decided_by",
    "decided_at",
)
DECISION_COLUMNS = (
    "task_id",
    "attempt_id",
    "course_id",
    "lesson_id",
    "learner_id",
    "method",
    "flagged",
    "audit_outcome",
    "ready_at",
    "decided_at",
    "decision",
    "decided_by",
    "seconds_to_decision",
)
DECIDED = (ReviewState.PASSED, ReviewState.FAILED)

Row = tuple[Any, ...]
Key = tuple[datetime, str]  # the order's last (time, id): where the next batch starts


@dataclass(frozen=True)
class ExportFilter:
    """One organisation's rows, of one course or all, within [start, end) when given: attempts
    by when they opened, decisions by when they were made."""

    org_id: str
    course_id: str | None = None
    start: datetime | None = None
    end: datetime | None = None


def attempt_batches(
    sessions: SessionFactory, wanted: ExportFilter, size: int = BATCH_SIZE
) -> Iterator[list[Row]]:
    """Rows in ATTEMPT_COLUMNS' order, oldest attempt first, `size` at a time."""
    return _batches(sessions, lambda session, after: _attempts(session, wanted, after, size), size)


def decision_batches(
    sessions: SessionFactory, wanted: ExportFilter, size: int = BATCH_SIZE
) -> Iterator[list[Row]]:
    """Rows in DECISION_COLUMNS' order, earliest decision first, `size` at a time."""
    return _batches(sessions, lambda session, after: _decisions(session, wanted, after, size), size)


def _batches(
    sessions: SessionFactory, fetch: Callable[[Session, Key | None], tuple[list[Row], Key | None]], size: int
) -> Iterator[list[Row]]:
    after: Key | None = None
    while True:
        with sessions() as session:
            batch, after = fetch(session, after)
        if batch:
            yield batch
        if len(batch) < size:
            return


def _attempts(
    session: Session, wanted: ExportFilter, after: Key | None, size: int
) -> tuple[list[Row], Key | None]:
    finished = (
        select(func.min(AttemptEvent.at))
        .where(AttemptEvent.attempt_id == Attempt.id, AttemptEvent.event == StepEvent.LEARNER_FINISHED)
        .correlate(Attempt)
        .scalar_subquery()
    )
    query = (
        select(
            Attempt.id,
            Attempt.course_id,
            Attempt.lesson_id,
            Attempt.learner_id,
            Attempt.attempt_number,
            Attempt.method,
            Attempt.status,
            Attempt.allowed_minutes,
            Attempt.created_at,
            finished,
            Attempt.exam_score,
            Attempt.exam_passed,
            ReviewTask.state,
            ReviewTask.decided_by,
            ReviewTask.completed_at,
        )
        .outerjoin(
            ReviewTask, and_(col(ReviewTask.attempt_id) == Attempt.id, ReviewTask.org_id == Attempt.org_id)
        )
        .where(Attempt.org_id == wanted.org_id)
    )
    if wanted.course_id is not None:
        query = query.where(Attempt.course_id == wanted.course_id)
    query = _window(query, col(Attempt.created_at), col(Attempt.id), wanted, after)
    found = session.exec(query.order_by(col(Attempt.created_at), col(Attempt.id)).limit(size)).all()
    rows = []
    for *attempt, state, decided_by, completed_at in found:
        decided = state in DECIDED  # a closed task ended without a decision
        rows.append(
            (
                *attempt,
                state,
                state if decided else None,
                decided_by if decided else None,
                completed_at if decided else None,
            )
        )
    return rows, _last(found, 8, 0)


def _decisions(
    session: Session, wanted: ExportFilter, after: Key | None, size: int
) -> tuple[list[Row], Key | None]:
    query = select(
        ReviewTask.id,
        ReviewTask.attempt_id,
        ReviewTask.course_id,
        ReviewTask.lesson_id,
        ReviewTask.learner_id,
        ReviewTask.method,
        ReviewTask.flagged,
        ReviewTask.audit_outcome,
        ReviewTask.ready_at,
        ReviewTask.completed_at,
        ReviewTask.state,
        ReviewTask.decided_by,
    ).where(
        ReviewTask.org_id == wanted.org_id,
        col(ReviewTask.state).in_(DECIDED),
        col(ReviewTask.completed_at).is_not(None),
    )
    if wanted.course_id is not None:
        query = query.where(ReviewTask.course_id == wanted.course_id)
    query = _window(query, col(ReviewTask.completed_at), col(ReviewTask.id), wanted, after)
    found = session.exec(query.order_by(col(ReviewTask.completed_at), col(ReviewTask.id)).limit(size)).all()
    rows = [(*row, _seconds_between(row[8], row[9])) for row in found]
    return rows, _last(found, 9, 0)


def _window(query: Any, at: Any, row_id: Any, wanted: ExportFilter, after: Key | None) -> Any:
    """Within the filter's time range, and past the previous batch's last row."""
    if wanted.start is not None:
        query = query.where(at >= wanted.start)
    if wanted.end is not None:
        query = query.where(at < wanted.end)
    if after is not None:
        # Spelled out rather than a row-value comparison: the same SQL on every database.
        query = query.where(or_(at > after[0], and_(at == after[0], row_id > after[1])))
    return query


def _last(found: Sequence[Any], at: int, row_id: int) -> Key | None:
    return (found[-1][at], found[-1][row_id]) if found else None


def _seconds_between(ready_at: datetime | None, decided_at: datetime | None) -> int | None:
    """Whole seconds from ready for review to decided."""
    if ready_at is None or decided_at is None:
        return None
    return int((decided_at - ready_at).total_seconds())
