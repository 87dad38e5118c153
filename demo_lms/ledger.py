"""What the demo LMS has learnt from ProctorFlow's events, kept in memory by learner and course:
attempt statuses, lesson completions, course completion, the certificate, and the events
themselves (the pages show them arriving).

Each event is taken once (by its id: a redelivery or the start-up catch-up from the feed may
bring it again). A fact is replaced only by one at least as new, so an older event that comes
late cannot undo a newer one.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

KEEP_EVENTS = 50  # per learner and course, newest last
KEEP_ALL_EVENTS = 10_000  # of the whole organisation, for a look at what came


@dataclass
class Fact:
    at: datetime
    values: dict[str, Any]


@dataclass
class Received:
    id: str
    type: str
    at: datetime  # when ProctorFlow says it happened
    received_at: datetime
    data: dict[str, Any]


@dataclass
class LearnerCourse:
    attempts: dict[str, Fact] = field(default_factory=dict)  # attempt id -> status, lesson, number
    reviews: dict[str, Fact] = field(default_factory=dict)  # attempt id -> review task state
    lessons: dict[str, Fact] = field(default_factory=dict)  # lesson id -> completion
    course: Fact | None = None
    certificate: Fact | None = None
    events: deque[Received] = field(default_factory=lambda: deque(maxlen=KEEP_EVENTS))


class Ledger:
    def __init__(self) -> None:
        self._courses: dict[tuple[str, str], LearnerCourse] = {}
        self._seen: set[str] = set()
        self.received: deque[Received] = deque(maxlen=KEEP_ALL_EVENTS)  # in the order they came

    def take(self, event_id: str, type_: str, timestamp: str, data: dict[str, Any]) -> bool:
        """Learn from one event; False when it was taken before (or names no learner's course)."""
        course_id, learner_id = data.get("course_id"), data.get("learner_id")
        if event_id in self._seen or not isinstance(course_id, str) or not isinstance(learner_id, str):
            return False
        self._seen.add(event_id)
        event = Received(event_id, type_, _when(timestamp), datetime.now(UTC), dict(data))
        record = self.of(course_id, learner_id)
        record.events.append(event)
        self.received.append(event)
        _learn(record, event)
        return True

    def of(self, course_id: str, learner_id: str) -> LearnerCourse:
        return self._courses.setdefault((course_id, learner_id), LearnerCourse())

    def types_received(self) -> list[str]:
        return [event.type for event in self.received]


def _learn(record: LearnerCourse, event: Received) -> None:
    data, at = event.data, event.at
    if event.type == "attempt.status_changed":
        _keep(record.attempts, data.get("attempt_id"), at, data)
    elif event.type == "review_task.changed":
        _keep(record.reviews, data.get("attempt_id"), at, data)
    elif event.type == "lesson.completed":
        _keep(record.lessons, data.get("lesson_id"), at, {**data, "completed": True})
    elif event.type == "result.changed":
        lesson = record.lessons.get(str(data.get("lesson_id")))
        if lesson is not None and at >= lesson.at:
            lesson.values = {**lesson.values, "proctoring_result": data.get("new")}
            lesson.at = at
    elif event.type in ("course.completed", "course.uncompleted") and _newer(record.course, at):
        record.course = Fact(at, {**data, "completed": event.type == "course.completed"})
    elif event.type in ("certificate.issued", "certificate.revoked") and _newer(record.certificate, at):
        record.certificate = Fact(at, {**data, "issued": event.type == "certificate.issued"})


def _keep(facts: dict[str, Fact], key: Any, at: datetime, values: dict[str, Any]) -> None:
    if isinstance(key, str) and _newer(facts.get(key), at):
        facts[key] = Fact(at, values)


def _newer(known: Fact | None, at: datetime) -> bool:
    return known is None or at >= known.at


def _when(timestamp: str) -> datetime:
    try:
        when = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except (AttributeError, ValueError):
        return datetime.now(UTC)
    return when if when.tzinfo else when.replace(tzinfo=UTC)
