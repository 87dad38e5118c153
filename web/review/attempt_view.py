"""One attempt as staff see it: its status, its time, its story, and the staff actions that can
apply to it now (the workflow's validators and `starter.staff` have the last word: what they
refuse is shown in their words).

- `reset` and `void`: any attempt not voided already, except one whose reviewer's decision is
  still completing it (`passed`, `failed`: it can be voided once it has completed);
- `resume`: an attempt parked in `error`;
- `check_now`: an attempt waiting for ProctorFree (`awaiting_setup`, `in_progress`,
  `awaiting_audit`);
- "Add time": while the learner is in the session (`awaiting_setup`, `in_progress`), when the
  attempt has a time limit below ProctorFree's cap for its method.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from models.statuses import AttemptStatus
from models.tables import Accommodation, Attempt, Course, Learner, Lesson, ReviewTask
from models.time_limits import MAX_EXTEND_MINUTES, VENDOR_CAP_MINUTES
from store import accommodations, queries
from web.review.timeline import Step, timeline
from workflows.staff_actions import ASKS_VENDOR, IN_SESSION

S = AttemptStatus
ACTIONS = ("reset", "void", "resume", "check_now")
DECISION_COMPLETING = frozenset({S.PASSED, S.FAILED})


def actions_for(status: str) -> list[str]:
    """The staff actions that can apply to an attempt in `status`, in the page's order."""
    try:
        current = S(status)
    except ValueError:  # a status this version does not know: offer nothing, refuse nothing
        return []
    found = []
    if current == S.ERROR:
        found.append("resume")
    if current in ASKS_VENDOR:
        found.append("check_now")
    if current != S.VOIDED and current not in DECISION_COMPLETING:
        found += ["reset", "void"]
    return found


@dataclass(frozen=True)
class AddTime:
    """Whether minutes can be added to the running session: at most `most`, or why not."""

    most: int | None
    why_not: str | None


def add_time(status: str, method: str, allowed_minutes: int | None) -> AddTime | None:
    """None when the learner is not in the session (the page offers nothing then)."""
    if status not in IN_SESSION:
        return None
    if allowed_minutes is None:
        return AddTime(None, "This attempt has no time limit: there is nothing to extend.")
    cap = VENDOR_CAP_MINUTES.get(method, allowed_minutes + MAX_EXTEND_MINUTES)  # type: ignore[call-overload]
    if allowed_minutes >= cap:
        return AddTime(None, f"The session already has ProctorFree's cap of {cap} minutes for this method.")
    return AddTime(min(MAX_EXTEND_MINUTES, cap - allowed_minutes), None)


@dataclass(frozen=True)
class AttemptView:
    attempt: Attempt
    task: ReviewTask | None
    learner_name: str | None
    course_title: str | None
    lesson_title: str | None
    steps: list[Step]
    accommodation: Accommodation | None  # the learner's, when it gave this attempt its time
    actions: list[str]
    add_time: AddTime | None


def load_attempt(session: Session, org_id: str, attempt_id: str) -> AttemptView:
    story = queries.attempt_story(session, org_id, attempt_id)
    attempt = story.attempt
    learner = session.get(Learner, (org_id, attempt.learner_id))
    course = session.get(Course, (org_id, attempt.course_id))
    lesson = session.get(Lesson, (org_id, attempt.course_id, attempt.lesson_id))
    return AttemptView(
        attempt=attempt,
        task=story.task,
        learner_name=learner.name if learner else None,
        course_title=course.title if course else None,
        lesson_title=lesson.title if lesson else None,
        steps=timeline(story.events),
        accommodation=accommodation_of(session, attempt),
        actions=actions_for(attempt.status),
        add_time=add_time(attempt.status, attempt.method, attempt.allowed_minutes),
    )


def accommodation_of(session: Session, attempt: Attempt) -> Accommodation | None:
    """The learner's accommodation in the course, when one gave this attempt its time (its note
    is for the reviewers: shown on their pages only)."""
    if not attempt.accommodated:
        return None
    return accommodations.find(session, attempt.org_id, attempt.course_id, attempt.learner_id)


def changed_since(accommodation: Accommodation | None, opened_at: datetime) -> bool:
    return accommodation is not None and accommodation.updated_at > opened_at
