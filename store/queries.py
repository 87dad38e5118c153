"""Read-only listings for the LMS API and the reviewer UI: review tasks, one attempt's story."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import Session, col, select

from models.statuses import ReviewState
from models.tables import Attempt, AttemptEvent, ReviewTask
from proctorflow.errors import NotFound
from store import scoped

OPEN_STATES = (ReviewState.NOT_READY, ReviewState.READY_FOR_REVIEW)


@dataclass(frozen=True)
class TaskRow:
    """A review task with the attempt it reviews (which holds the vendor's review link)."""

    task: ReviewTask
    attempt: Attempt


def list_review_tasks(
    session: Session,
    org_id: str,
    state: str | None = None,
    course_id: str | None = None,
    open_only: bool | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[TaskRow], int]:
    """One page of an organisation's review tasks, newest first, and how many match in all.

    `open_only` True keeps tasks nobody has decided yet ("Task completed at" empty), False
    keeps the decided ones, None keeps both.
    """
    conditions = [ReviewTask.org_id == org_id]
    if state is not None:
        conditions.append(ReviewTask.state == state)
    if course_id is not None:
        conditions.append(ReviewTask.course_id == course_id)
    if open_only is True:
        conditions.append(col(ReviewTask.state).in_(OPEN_STATES))
    elif open_only is False:
        conditions.append(col(ReviewTask.state).not_in(OPEN_STATES))
    total = session.exec(select(func.count()).select_from(ReviewTask).where(*conditions)).one()
    rows = session.exec(
        select(ReviewTask, Attempt)
        .join(Attempt, col(Attempt.id) == col(ReviewTask.attempt_id))
        .where(*conditions)
        .order_by(col(ReviewTask.created_at).desc(), col(ReviewTask.id))
        .limit(limit)
        .offset(offset)
    ).all()
    return [TaskRow(task, attempt) for task, attempt in rows], total


def get_review_task(session: Session, org_id: str, task_id: str) -> TaskRow:
    task = scoped.review_task(session, org_id, task_id)
    attempt = session.get(Attempt, task.attempt_id)
    if attempt is None:  # a task is written only after its attempt; never expected
        raise NotFound(f"review task {task_id} has lost its attempt {task.attempt_id}")
    return TaskRow(task, attempt)


@dataclass(frozen=True)
class AttemptStory:
    attempt: Attempt
    events: list[AttemptEvent]  # in the workflow's order
    task: ReviewTask | None


def attempt_story(session: Session, org_id: str, attempt_id: str) -> AttemptStory:
    # The LMS polls this while a learner waits: two queries, the attempt with its task, then events.
    found = session.exec(
        select(Attempt, ReviewTask)
        .outerjoin(ReviewTask, col(ReviewTask.attempt_id) == col(Attempt.id))
        .where(Attempt.id == attempt_id, Attempt.org_id == org_id)
    ).first()
    if found is None:
        raise scoped.no_attempt(attempt_id)
    attempt, task = found
    events = session.exec(
        select(AttemptEvent).where(AttemptEvent.attempt_id == attempt_id).order_by(col(AttemptEvent.seq))
    ).all()
    return AttemptStory(attempt, list(events), task)
