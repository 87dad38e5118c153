"""What the reviewer pages read: the queue of review tasks with the names beside them, and one
task with its attempt's story. Personal data (learners' names) is read here for signed-in
reviewers of the same organisation only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import and_, case, func, or_
from sqlmodel import Session, col, select

from models.statuses import ReviewState, StepEvent
from models.tables import Accommodation, Attempt, AttemptEvent, Course, Learner, Lesson, ReviewTask, utcnow
from proctorflow.errors import Invalid
from store import queries
from web.review.attempt_view import accommodation_of, changed_since
from web.review.pages import ROOT
from web.review.timeline import Step, audit_escalates_at, finished_at, timeline

PAGE_SIZE = 50
AUDIT_USUALLY_WITHIN = timedelta(hours=24)  # "ProctorFree audits ... usually within 24 hours"
SHOWS = {"open": "Open tasks", "completed": "Completed tasks", "all": "All tasks"}
# The queue's views, each within the filters above: every task, the reviewer's own, the ready
# ones nobody holds, and the overdue or high-priority ones.
VIEWS = {"": "All", "mine": "Mine", "unassigned": "Unassigned", "overdue": "Overdue"}
VIEW_NOTES = {
    "": "",
    "mine": "Tasks you hold (claimed by you or assigned to you).",
    "unassigned": "Tasks ready for review that nobody holds: claim one to work on it.",
    "overdue": "Open tasks past their review deadline, and tasks raised to high priority.",
}
STATE_LABELS = {
    ReviewState.NOT_READY: "Not ready",
    ReviewState.READY_FOR_REVIEW: "Ready for review",
    ReviewState.PASSED: "Passed",
    ReviewState.FAILED: "Failed",
    ReviewState.CLOSED: "Closed",
}


# --- The queue --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    show: str
    state: str | None
    course_id: str | None
    view: str = ""

    def link(self, page: int = 1, view: str | None = None) -> str:
        """This list's address, on another page or (with the same filters) in another view."""
        params = {
            "show": self.show,
            "state": self.state or "",
            "course": self.course_id or "",
            "view": self.view if view is None else view,
        }
        params = {name: value for name, value in params.items() if value}
        if page > 1:
            params["page"] = str(page)
        return f"{ROOT}/tasks" + (f"?{urlencode(params)}" if params else "")


def parse_filters(show: str, state: str, course: str, view: str = "") -> Filters:
    if show not in SHOWS:
        raise Invalid(f"show must be one of {', '.join(SHOWS)}, not {show!r}")
    if state and state not in STATE_LABELS:
        raise Invalid(f"state must be one of {', '.join(STATE_LABELS)}, not {state!r}")
    if view not in VIEWS:
        named = ", ".join(name for name in VIEWS if name)
        raise Invalid(f"view must be one of {named} (or none for every task), not {view!r}")
    return Filters(show, state or None, course or None, view)


@dataclass(frozen=True)
class QueueRow:
    task: ReviewTask
    learner_name: str | None
    course_title: str | None
    lesson_title: str | None


def load_queue(
    session: Session, org_id: str, filters: Filters, page: int, username: str = ""
) -> tuple[list[QueueRow], int]:
    """One page of the queue (in the filters' view; `username`: whose "Mine" is): open tasks
    first, oldest first (the next to work on); then completed ones, newest first.
    (`store.queries.list_review_tasks` sorts newest first and has no names, hence this query.)"""
    is_open = col(ReviewTask.state).in_(queries.OPEN_STATES)
    conditions = _filtered(org_id, filters)
    if filters.view:
        conditions.append(_in_view(filters.view, username))
    total = session.exec(select(func.count()).select_from(ReviewTask).where(*conditions)).one()
    statement = (
        _with_names(select(ReviewTask, Learner.name, Course.title, Lesson.title))
        .where(*conditions)
        .order_by(
            case((is_open, 0), else_=1),
            case((is_open, col(ReviewTask.created_at)), else_=None),
            col(ReviewTask.completed_at).desc(),
            col(ReviewTask.id),
        )
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    )
    return [QueueRow(*row) for row in session.exec(statement).all()], total


def view_counts(session: Session, org_id: str, filters: Filters, username: str) -> dict[str, int]:
    """How many tasks each view holds under the same filters (one query)."""
    counts = [func.count()] + [
        func.coalesce(func.sum(case((_in_view(view, username), 1), else_=0)), 0) for view in VIEWS if view
    ]
    found = session.exec(select(*counts).select_from(ReviewTask).where(*_filtered(org_id, filters))).one()
    return {view: int(count) for view, count in zip(VIEWS, found, strict=True)}


def _filtered(org_id: str, filters: Filters) -> list[Any]:
    """The conditions of the filters (show, state, course), whatever the view."""
    is_open = col(ReviewTask.state).in_(queries.OPEN_STATES)
    conditions: list[Any] = [ReviewTask.org_id == org_id]
    if filters.show != "all":
        conditions.append(is_open if filters.show == "open" else ~is_open)
    if filters.state:
        conditions.append(ReviewTask.state == filters.state)
    if filters.course_id:
        conditions.append(ReviewTask.course_id == filters.course_id)
    return conditions


def _in_view(view: str, username: str) -> Any:
    """Mine: the reviewer holds it. Unassigned: ready for review and nobody holds it. Overdue:
    past its deadline and still open, or raised to high priority (overdue before, or the
    reviewers disagreed)."""
    if view == "mine":
        return ReviewTask.assignee == username
    if view == "unassigned":
        return and_(ReviewTask.state == ReviewState.READY_FOR_REVIEW, col(ReviewTask.assignee).is_(None))
    is_open = col(ReviewTask.state).in_(queries.OPEN_STATES)
    return or_(and_(is_open, col(ReviewTask.due_at) <= utcnow()), ReviewTask.priority == "high")


def overdue(task: ReviewTask, now: datetime | None = None) -> bool:
    """Still open and past its review deadline."""
    due = task.due_at
    return due is not None and task.state in queries.OPEN_STATES and due <= (now or utcnow())


def _with_names(statement: Any) -> Any:
    """The learner's name and the course and lesson titles beside each task."""
    return (
        statement.select_from(ReviewTask)
        .outerjoin(Learner, and_(Learner.org_id == ReviewTask.org_id, Learner.id == ReviewTask.learner_id))
        .outerjoin(Course, and_(Course.org_id == ReviewTask.org_id, Course.id == ReviewTask.course_id))
        .outerjoin(
            Lesson,
            and_(
                Lesson.org_id == ReviewTask.org_id,
                Lesson.course_id == ReviewTask.course_id,
                Lesson.id == ReviewTask.lesson_id,
            ),
        )
    )


def load_selected(session: Session, org_id: str, task_ids: list[str]) -> list[QueueRow]:
    statement = _with_names(select(ReviewTask, Learner.name, Course.title, Lesson.title)).where(
        ReviewTask.org_id == org_id, col(ReviewTask.id).in_(task_ids)
    )
    found = {row[0].id: QueueRow(*row) for row in session.exec(statement).all()}
    return [found[task_id] for task_id in dict.fromkeys(task_ids) if task_id in found]


def courses_of(session: Session, org_id: str) -> list[Course]:
    return list(session.exec(select(Course).where(Course.org_id == org_id).order_by(col(Course.title))))


# --- One task ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class TaskView:
    task: ReviewTask
    attempt: Attempt
    learner_name: str | None
    course_title: str | None
    lesson_title: str | None
    steps: list[Step]
    audit_expected_by: datetime | None
    audit_escalates_at: datetime | None  # the workflow's deadline (a setting), when it waits for one
    ended_because: str | None = None  # why the attempt ended without a decision, as its last step says
    accommodation: Accommodation | None = None  # the learner's, when it gave the attempt its time
    accommodation_changed: bool = False  # changed since the attempt opened


def load_task(session: Session, org_id: str, task_id: str) -> TaskView:
    row = queries.get_review_task(session, org_id, task_id)
    story = queries.attempt_story(session, org_id, row.attempt.id)
    task = row.task
    learner = session.get(Learner, (org_id, task.learner_id))
    course = session.get(Course, (org_id, task.course_id))
    lesson = session.get(Lesson, (org_id, task.course_id, task.lesson_id))
    finished = finished_at(story.events) or task.created_at
    accommodation = accommodation_of(session, row.attempt)
    return TaskView(
        task=task,
        attempt=row.attempt,
        learner_name=learner.name if learner else None,
        course_title=course.title if course else None,
        lesson_title=lesson.title if lesson else None,
        steps=timeline(story.events),
        audit_expected_by=finished + AUDIT_USUALLY_WITHIN,
        audit_escalates_at=audit_escalates_at(story.events),
        ended_because=_ended_because(story.events),
        accommodation=accommodation,
        accommodation_changed=changed_since(accommodation, row.attempt.created_at),
    )


def _ended_because(events: list[AttemptEvent]) -> str | None:
    ends = (StepEvent.CANCELLED, StepEvent.ABANDONED)
    last = next((event for event in reversed(events) if event.event in ends), None)
    return str((last.detail or {}).get("reason") or last.event) if last is not None else None
