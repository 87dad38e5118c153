"""Storage tables. Everything an LMS token reaches is scoped by `org_id`."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import JSON, Column, DateTime, Index, UniqueConstraint
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Stores UTC, hands back aware datetimes, on SQLite (no time zones) and PostgreSQL alike."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        return value.replace(tzinfo=UTC) if value is not None else None


def utc_field(**kwargs) -> Field:  # type: ignore[valid-type]
    """A timestamp column."""
    return Field(sa_type=UTCDateTime, **kwargs)


class Organisation(SQLModel, table=True):
    id: str = Field(primary_key=True)
    name: str
    # Where ProctorFree sends the learner after "confirm and start": the LMS's exam page, a
    # template with {attempt_id} (and {course_id}, {lesson_id}); None: ProctorFree's own page.
    lms_return_url: str | None = None
    created_at: datetime = utc_field(default_factory=utcnow)


class ApiToken(SQLModel, table=True):
    """An LMS API token of one organisation (`store/tokens.py`). The token itself is never
    stored: its SHA-256 finds it, its first few characters let people recognise it."""

    token_sha256: str = Field(primary_key=True)
    id: str = Field(unique=True, index=True)  # what the API names it by (never the digest)
    org_id: str = Field(foreign_key="organisation.id", index=True)
    name: str = ""
    prefix: str = ""
    # The default organisation's PROCTORFLOW_LMS_TOKEN: replaced when that setting changes.
    bootstrap: bool = False
    created_at: datetime = utc_field(default_factory=utcnow)
    last_used_at: datetime | None = utc_field(default=None)  # at most about a minute behind


class Integration(SQLModel, table=True):
    id: str = Field(primary_key=True)
    org_id: str = Field(foreign_key="organisation.id", index=True)
    name: str
    api_key_encrypted: str
    api_secret_encrypted: str
    is_active: bool = True
    created_at: datetime = utc_field(default_factory=utcnow)
    updated_at: datetime = utc_field(default_factory=utcnow)


class Course(SQLModel, table=True):
    org_id: str = Field(foreign_key="organisation.id", primary_key=True)
    id: str = Field(primary_key=True)
    title: str
    score_lesson_id: str | None = None
    complete_on_failure: bool = False
    certificate: bool = False
    updated_at: datetime = utc_field(default_factory=utcnow)


class Lesson(SQLModel, table=True):
    org_id: str = Field(primary_key=True)
    course_id: str = Field(primary_key=True)
    id: str = Field(primary_key=True)
    title: str
    type: str
    required: bool = True
    allows_retakes: bool = False
    position: int = 0
    # Proctoring settings; `integration_id` None means not proctored.
    integration_id: str | None = Field(default=None, foreign_key="integration.id")
    instructions: str = ""
    method: str | None = None
    requires_validation: bool = False
    time_limit_minutes: int | None = None  # None: no limit but ProctorFree's own (models/time_limits.py)


class Learner(SQLModel, table=True):
    """Personal data lives here only: never in workflow payloads, logs or API replies."""

    org_id: str = Field(primary_key=True)
    id: str = Field(primary_key=True)
    name: str
    email: str


class Attempt(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("org_id", "course_id", "lesson_id", "learner_id", "attempt_number"),
        Index("ix_attempt_org_created", "org_id", "created_at", "id"),  # exports read in this order
    )
    id: str = Field(primary_key=True)
    org_id: str = Field(index=True)
    course_id: str = Field(index=True)
    lesson_id: str
    learner_id: str = Field(index=True)
    attempt_number: int
    workflow_id: str
    integration_id: str
    method: str
    required: bool
    requires_validation: bool
    status: str = Field(index=True)
    parked_from: str | None = None  # the status an `error` attempt returns to on resume
    error_reason: str | None = None
    vendor_session_id: str | None = Field(default=None, index=True)
    exam_score: float | None = None
    exam_passed: bool | None = None
    setup_url: str | None = None
    review_url: str | None = None
    # Minutes the learner has at ProctorFree (the lesson's limit with the accommodation that
    # applied when it opened, plus staff extensions); None: no limit. `accommodated`: an
    # accommodation gave it more time (the review task shows a badge and the note).
    allowed_minutes: int | None = None
    accommodated: bool = False
    # Staff reset it: the learner may open the next attempt even where the lesson allows no retakes.
    retake_granted: bool = False
    last_seq: int = 0
    # The workflow run that owns the attempt's story: the first run that wrote a step, or a newer
    # run of the same workflow (ops reset it) that took over from the step it rewrote.
    run_id: str | None = None
    # The runs a newer run took the story over from: a late write of theirs is ignored even when
    # none of their steps is left (a reset to the first workflow task rewinds them all).
    superseded_runs: list[str] | None = Field(default=None, sa_column=Column(JSON))
    created_at: datetime = utc_field(default_factory=utcnow)
    updated_at: datetime = utc_field(default_factory=utcnow)


class AttemptEvent(SQLModel, table=True):
    """Append-only log of what happened to an attempt, in the workflow's order."""

    __table_args__ = (UniqueConstraint("attempt_id", "seq"),)
    id: int | None = Field(default=None, primary_key=True)
    attempt_id: str = Field(index=True)
    seq: int
    history_length: int = 0  # see StatusChange.history_length
    run_id: str | None = None  # the workflow run that wrote it; None for a step ops wrote
    at: datetime = utc_field()
    event: str
    status: str | None = None
    detail: dict = Field(default_factory=dict, sa_column=Column(JSON))


class ReviewTask(SQLModel, table=True):
    __table_args__ = (Index("ix_reviewtask_org_completed", "org_id", "completed_at", "id"),)  # exports' order

    id: str = Field(primary_key=True)
    org_id: str = Field(index=True)
    attempt_id: str = Field(unique=True)
    course_id: str = Field(index=True)
    lesson_id: str
    learner_id: str
    method: str
    type: str = "Proctoring Review"
    state: str = Field(index=True)
    flagged: bool = False  # the audit never arrived in time, or ProctorFree flagged it
    audit_outcome: str | None = None
    created_at: datetime = utc_field(default_factory=utcnow)
    ready_at: datetime | None = utc_field(default=None)
    completed_at: datetime | None = utc_field(default=None)  # "Task completed at"
    decided_by: str | None = None
    # Reviewer operations (docs/reviewer-operations.md): who holds it, until when it is due,
    # whether it was escalated, and the reviews of a second-review task.
    assignee: str | None = Field(default=None, index=True)
    claimed_at: datetime | None = utc_field(default=None)
    claim_expires_at: datetime | None = utc_field(default=None)  # released then unless decided
    due_at: datetime | None = utc_field(default=None)
    priority: str = "normal"  # normal / high (overdue, or the reviewers disagreed)
    escalated_at: datetime | None = utc_field(default=None)
    reviews: list[dict] | None = Field(default=None, sa_column=Column(JSON))  # [{reviewer, decision, at}]


class LessonProgress(SQLModel, table=True):
    org_id: str = Field(primary_key=True)
    course_id: str = Field(primary_key=True)
    lesson_id: str = Field(primary_key=True)
    learner_id: str = Field(primary_key=True)
    completed_at: datetime | None = utc_field(default=None)
    success: bool | None = None
    score: float | None = None
    proctoring_result: str | None = None  # passed / failed
    attempt_id: str | None = None


class CourseProgress(SQLModel, table=True):
    org_id: str = Field(primary_key=True)
    course_id: str = Field(primary_key=True)
    learner_id: str = Field(primary_key=True)
    completed_at: datetime | None = utc_field(default=None)
    success: bool | None = None
    score: float | None = None


class Certificate(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("org_id", "course_id", "learner_id"),)
    id: str = Field(primary_key=True)
    org_id: str
    course_id: str
    learner_id: str
    issued_at: datetime = utc_field(default_factory=utcnow)
    # A result changed with the course re-evaluated: the course no longer qualifies. Kept for the
    # record; issued again (revoked_at cleared) if the course qualifies again.
    revoked_at: datetime | None = utc_field(default=None)


class WebhookDelivery(SQLModel, table=True):
    """Every vendor event id seen, so a replayed delivery is refused."""

    event_id: str = Field(primary_key=True)
    type: str
    session_id: str
    received_at: datetime = utc_field(default_factory=utcnow)


class Reviewer(SQLModel, table=True):
    """An LMS admin who reviews proctoring in the reviewer UI."""

    id: str = Field(primary_key=True)
    org_id: str = Field(foreign_key="organisation.id", index=True)
    username: str = Field(unique=True)
    password_hash: str
    display_name: str = ""
    created_at: datetime = utc_field(default_factory=utcnow)


class ReviewerSession(SQLModel, table=True):
    """A reviewer signed in on one browser. Its cookie carries a random token; only the token's
    SHA-256 is kept, so the table cannot be used to sign in. Logout, a password change or
    `proctorflow revoke-sessions` revoke it: a copied cookie stops working at once."""

    __tablename__ = "reviewer_session"
    id: str = Field(primary_key=True)  # SHA-256 of the cookie's token, hex
    reviewer_id: str = Field(foreign_key="reviewer.id", ondelete="CASCADE", index=True)
    created_at: datetime = utc_field(default_factory=utcnow)
    last_seen_at: datetime = utc_field(default_factory=utcnow)
    expires_at: datetime = utc_field()
    revoked_at: datetime | None = utc_field(default=None)


class ResultChange(SQLModel, table=True):
    """The audit trail of proctoring results changed after the fact, from course progress."""

    id: int | None = Field(default=None, primary_key=True)
    org_id: str = Field(index=True)
    course_id: str
    lesson_id: str
    learner_id: str = Field(index=True)
    previous: str | None
    new: str
    reason: str
    changed_by: str
    reevaluated_course: bool = False
    at: datetime = utc_field(default_factory=utcnow)


class OrgSettings(SQLModel, table=True):
    """An organisation's settings for its reviewers (`PUT /api/v1/settings`)."""

    __tablename__ = "org_settings"
    org_id: str = Field(primary_key=True)
    review_sla_hours: int | None = None  # None: no deadline
    claim_timeout_minutes: int = 60
    second_review_for_flagged: bool = False
    escalation_email: str | None = None
    notifications: dict = Field(default_factory=dict, sa_column=Column(JSON))
    sender_name: str = "ProctorFlow"
    locale: str = "en"
    templates: dict = Field(default_factory=dict, sa_column=Column(JSON))
    retention_days: int | None = None
    updated_at: datetime = utc_field(default_factory=utcnow)


class AuditEntry(SQLModel, table=True):
    """Who did what to an organisation's data, when, from where (`GET /api/v1/audit-log`)."""

    __tablename__ = "audit_entry"
    id: int | None = Field(default=None, primary_key=True)
    org_id: str = Field(index=True)
    at: datetime = utc_field(default_factory=utcnow)
    actor: str  # the reviewer, the token's name, `cli:<login>`, `system`
    actor_kind: str  # reviewer / token / cli / system
    action: str  # e.g. integration.added, review_task.claimed, reviewer.login
    target: str = ""  # what it was done to, by id
    source: str = ""  # where from: the client's address, `cli`, `worker`
    detail: dict = Field(default_factory=dict, sa_column=Column(JSON))


class Notice(SQLModel, table=True):
    """An e-mail to send (an outbox, written in the transaction of what it tells): sent once by
    its own workflow, its id the notice's key so a notice is never queued twice."""

    __tablename__ = "notice"
    id: str = Field(primary_key=True)  # e.g. learner_decided:<attempt id>
    org_id: str = Field(index=True)
    kind: str
    to_address: str
    subject: str
    body: str
    state: str = Field(default="pending", index=True)  # pending / sent / failed
    tries: int = 0
    last_error: str | None = None
    created_at: datetime = utc_field(default_factory=utcnow)
    sent_at: datetime | None = utc_field(default=None)


class Accommodation(SQLModel, table=True):
    """Extra time for one learner in one course (models/time_limits.py says how it applies). The
    note is for the reviewers (ours and ProctorFree's): it may tell of a disability, so it goes
    to the vendor session and the review task, never into a workflow, a log or an event."""

    org_id: str = Field(primary_key=True)
    course_id: str = Field(primary_key=True)
    learner_id: str = Field(primary_key=True)
    extra_minutes: int | None = None
    time_multiplier: float | None = None
    lesson_ids: list[str] | None = Field(default=None, sa_column=Column(JSON))
    note: str = ""
    expires_at: datetime | None = utc_field(default=None)
    updated_by: str = ""
    updated_at: datetime = utc_field(default_factory=utcnow)


class AccommodationChange(SQLModel, table=True):
    """Every accommodation set, changed or removed: who, why, before and after."""

    __tablename__ = "accommodation_change"
    id: int | None = Field(default=None, primary_key=True)
    org_id: str = Field(index=True)
    course_id: str
    learner_id: str = Field(index=True)
    action: str  # set / removed
    before: dict | None = Field(default=None, sa_column=Column(JSON))
    after: dict | None = Field(default=None, sa_column=Column(JSON))
    reason: str = ""
    changed_by: str
    at: datetime = utc_field(default_factory=utcnow)


class ManualOverride(SQLModel, table=True):
    """An admin's override of a learner's lesson (score, success, completion) or course
    completion, with who and why: the record of what was changed by hand."""

    __tablename__ = "manual_override"
    id: int | None = Field(default=None, primary_key=True)
    org_id: str = Field(index=True)
    course_id: str
    lesson_id: str | None = None  # None: the course's completion
    learner_id: str = Field(index=True)
    before: dict = Field(default_factory=dict, sa_column=Column(JSON))
    after: dict = Field(default_factory=dict, sa_column=Column(JSON))
    reason: str
    changed_by: str
    at: datetime = utc_field(default_factory=utcnow)


# --- Events to the LMS (models/events.py says what they carry) -----------------------------


class OutboundEvent(SQLModel, table=True):
    """Something the LMS is told, written in the transaction of the change it reports (an
    outbox): the feed reads these; deliveries to the organisation's endpoint follow them."""

    __tablename__ = "outbound_event"
    __table_args__ = (UniqueConstraint("org_id", "position"),)
    id: str = Field(primary_key=True)  # the Standard Webhooks `webhook-id`: never changes
    org_id: str = Field(index=True)
    position: int  # the organisation's order of events: the feed's cursor
    stream: str = Field(index=True)  # models.events.stream_of: delivered in order within it
    type: str
    occurred_at: datetime = utc_field()
    data: dict = Field(sa_column=Column(JSON, nullable=False))


class EventCounter(SQLModel, table=True):
    """The last position given to an organisation's event; taken at commit, under its row lock,
    so positions commit in order and the feed never skips one."""

    __tablename__ = "event_counter"
    org_id: str = Field(primary_key=True)
    position: int = 0


class EventEndpoint(SQLModel, table=True):
    """Where an organisation's events are delivered, and the secrets that sign them (sealed)."""

    __tablename__ = "event_endpoint"
    org_id: str = Field(primary_key=True)
    url: str
    secret_sealed: str
    previous_secret_sealed: str | None = None  # still signs until it expires (a rotation's overlap)
    previous_secret_expires_at: datetime | None = utc_field(default=None)
    created_at: datetime = utc_field(default_factory=utcnow)
    updated_at: datetime = utc_field(default_factory=utcnow)


class EventDelivery(SQLModel, table=True):
    """One event's delivery to its organisation's endpoint: its state and its last try."""

    __tablename__ = "event_delivery"
    event_id: str = Field(primary_key=True)
    org_id: str = Field(index=True)
    stream: str = Field(index=True)
    position: int
    state: str = Field(index=True)  # models.events.DeliveryState
    woken: bool = Field(default=False, index=True)  # its stream's delivery was told of it
    attempts: int = 0
    last_status_code: int | None = None
    last_error: str | None = None
    last_attempt_at: datetime | None = utc_field(default=None)
    delivered_at: datetime | None = utc_field(default=None)
    created_at: datetime = utc_field(default_factory=utcnow)
