"""What ProctorFlow tells the LMS: the event types and what each carries (ids and states only,
never a name or an e-mail), and which stream an event belongs to.

A stream is one learner in one course: an attempt's events, its lesson's, the course's and the
certificate's go out in the order they happened. Streams are delivered independently, so one
learner's undeliverable event never holds up another's.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, HttpUrl

# Events are delivered as Standard Webhooks: https://www.standardwebhooks.com/
SECRET_PREFIX = "whsec_"
STREAM_NAMESPACE = uuid.UUID("5b1f4c7e-8a51-4f55-9b4c-0e7d1f3b2a60")


class EventType(StrEnum):
    ATTEMPT_STATUS_CHANGED = "attempt.status_changed"
    REVIEW_TASK_CHANGED = "review_task.changed"
    LESSON_COMPLETED = "lesson.completed"
    COURSE_COMPLETED = "course.completed"
    COURSE_UNCOMPLETED = "course.uncompleted"
    CERTIFICATE_ISSUED = "certificate.issued"
    CERTIFICATE_REVOKED = "certificate.revoked"
    RESULT_CHANGED = "result.changed"
    REVIEW_TASK_ESCALATED = "review_task.escalated"  # overdue, or the two reviewers disagreed
    ATTEMPT_STAFF_ACTION = "attempt.staff_action"  # reset, void, resume, check_now (never the reason's text)
    ATTEMPT_TIME_EXTENDED = "attempt.time_extended"  # minutes added to a running session
    ATTEMPT_TIME_WARNING = "attempt.time_warning"  # ProctorFree warned the learner: minutes left
    ACCOMMODATION_CHANGED = "accommodation.changed"  # set or removed (never the note)
    PROGRESS_OVERRIDDEN = "progress.overridden"  # an admin changed a lesson's or course's record by hand


class DeliveryState(StrEnum):
    PENDING = "pending"  # waiting for its turn in its stream, or retried
    DELIVERED = "delivered"  # the endpoint answered 2xx
    FAILED = "failed"  # retried for the whole delivery window without a 2xx; redeliver to try again
    CANCELLED = "cancelled"  # the endpoint was deleted before it was delivered


def stream_of(org_id: str, course_id: str, learner_id: str) -> str:
    """The stream's id: a uuid of the learner in the course, so no LMS id (often an e-mail)
    appears in a workflow id or Temporal's visibility."""
    return str(uuid.uuid5(STREAM_NAMESPACE, f"{org_id}\x1f{course_id}\x1f{learner_id}"))


def attempt_ids(attempt: Any, **figures: Any) -> dict[str, Any]:
    """An attempt event's data: the attempt's ids, and what the event adds."""
    return {
        "attempt_id": attempt.id,
        "course_id": attempt.course_id,
        "lesson_id": attempt.lesson_id,
        "learner_id": attempt.learner_id,
        "attempt_number": attempt.attempt_number,
        **figures,
    }


def attempt_status_changed(attempt: Any, previous: str | None) -> dict[str, Any]:
    return attempt_ids(
        attempt, status=str(attempt.status), previous_status=None if previous is None else str(previous)
    )


def review_task_changed(task: Any, previous: str | None) -> dict[str, Any]:
    return {
        "task_id": task.id,
        "attempt_id": task.attempt_id,
        "course_id": task.course_id,
        "lesson_id": task.lesson_id,
        "learner_id": task.learner_id,
        "state": str(task.state),
        "previous_state": None if previous is None else str(previous),
        "flagged": task.flagged,
    }


# --- The API's shapes ----------------------------------------------------------------------


class EventEndpointIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: HttpUrl = Field(description="where events are POSTed (http or https)")
    rotate_secret: bool = Field(
        default=False, description="issue a new secret; the old one still signs for 24 hours"
    )


class DeliveryCounts(BaseModel):
    pending: int
    delivered: int
    failed: int
    cancelled: int


class EventEndpointOut(BaseModel):
    url: str
    secret: str | None = Field(
        default=None, description="shown only when the endpoint is created or its secret rotated"
    )
    created_at: datetime
    updated_at: datetime
    previous_secret_expires_at: datetime | None = None
    deliveries: DeliveryCounts


class EventOut(BaseModel):
    id: str
    type: str
    timestamp: datetime
    data: dict[str, Any]


class EventFeed(BaseModel):
    events: list[EventOut]
    next_cursor: str = Field(description="pass as `after` for the events that follow")


class DeliveryOut(BaseModel):
    event_id: str
    type: str
    state: DeliveryState
    attempts: int
    last_status_code: int | None
    last_error: str | None
    last_attempt_at: datetime | None
    delivered_at: datetime | None


class DeliveryList(BaseModel):
    items: list[DeliveryOut]
