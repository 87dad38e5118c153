"""Plain pydantic payloads that cross workflow and activity boundaries.

They hold ids, states and timings, never learner names, e-mails or vendor credentials: those
are read from the database inside activities, so Temporal histories never carry them.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, Field

from models.review_ops import ReviewOps, ReviewPolicy
from models.rules import AttemptPlan, Decision, Method
from models.statuses import AttemptStatus, ReviewState, StepEvent


class AttemptKey(BaseModel):
    """Who, where and which try: one workflow per key."""

    org_id: str
    course_id: str
    lesson_id: str
    learner_id: str
    attempt_number: int

    @property
    def attempt_id(self) -> str:
        """Derived from the key, so every page load of the same attempt names the same one."""
        parts = (
            self.org_id,
            self.course_id,
            self.lesson_id,
            self.learner_id,
            str(self.attempt_number),
        )
        return str(uuid.uuid5(ATTEMPT_NAMESPACE, "\x1f".join(parts)))

    @property
    def workflow_id(self) -> str:
        return workflow_id_for(self.attempt_id)


ATTEMPT_NAMESPACE = uuid.UUID("6f1c2a8e-3b1d-4a7e-9c55-2f0b8d4e1a10")


def workflow_id_for(attempt_id: str) -> str:
    return f"attempt-{attempt_id}"


class AttemptTimers(BaseModel):
    """The attempt's clocks, from `Settings` (their one home, with their defaults)."""

    session_poll_interval: timedelta
    session_poll_max_interval: timedelta
    finish_window: timedelta
    exam_result_window: timedelta
    audit_poll_interval: timedelta
    audit_deadline: timedelta


class AttemptInput(BaseModel):
    attempt_id: str
    key: AttemptKey
    integration_id: str
    method: Method
    required: bool
    requires_validation: bool
    timers: AttemptTimers
    # The learner's minutes at ProctorFree (models/time_limits.py); None: no limit of ours.
    allowed_minutes: int | None = None
    # The organisation's review deadline and second-review rule when the attempt opened.
    review_policy: ReviewPolicy = Field(default_factory=ReviewPolicy)

    @property
    def plan(self) -> AttemptPlan:
        return AttemptPlan(self.method, self.required, self.requires_validation)


class ExamResult(BaseModel):
    score: float | None = None
    passed: bool


class AuditReport(BaseModel):
    outcome: str  # "clean" or "flagged"
    escalated: bool = False  # no audit arrived before the deadline


class DecisionRequest(BaseModel):
    decision: str  # validated by the workflow, so a bad value is refused with a reason
    reviewer: str = Field(min_length=1, max_length=200)


class DecisionReply(BaseModel):
    accepted: bool
    decision: Decision
    status: AttemptStatus
    message: str


StaffActionName = Literal["reset", "void", "resume", "check_now"]


class StaffActionRequest(BaseModel):
    """Staff act on one attempt (the API, the reviewer UI, the CLI): each with a reason, kept
    in the attempt's steps. `by`: the reviewer, the LMS token's name or `cli`."""

    action: StaffActionName
    reason: str = Field(min_length=1, max_length=1000)
    by: str = Field(min_length=1, max_length=200)


def voided_message(action: StaffActionName) -> str:
    if action == "reset":
        return "voided: the learner may open the next attempt (retakes allowed for it)"
    return "voided: the attempt no longer counts"


class StaffActionReply(BaseModel):
    action: StaffActionName
    status: AttemptStatus
    message: str


class ExtendRequest(BaseModel):
    minutes: int = Field(ge=1, le=240)
    reason: str = Field(min_length=1, max_length=1000)
    by: str = Field(min_length=1, max_length=200)


class ExtendReply(BaseModel):
    allowed_minutes: int
    message: str


# --- Activity payloads ----------------------------------------------------------------------


class VendorSessionRef(BaseModel):
    session_id: str
    setup_url: str
    review_url: str


class VendorCall(BaseModel):
    attempt_id: str
    integration_id: str
    session_id: str | None = None
    time_limit_minutes: int | None = None  # the session's minutes: set at creation, moved by `extend`


class SessionFinished(BaseModel):
    """ProctorFree says the learner finished (a poll's answer)."""

    capped: bool = False  # ProctorFree ended the session at its time limit
    finished_at: datetime | None = None  # ProctorFree's time of FINISH


class StatusChange(BaseModel):
    attempt_id: str
    seq: int  # the workflow's own counter: a retried write is recognised, never doubled
    # How far the workflow's history went when it wrote this: of two writes under one seq, the
    # one from further on wins (the other came from a workflow task that was lost); at the same
    # length (retries of one workflow task), the one with the later `at` (workflow time) wins.
    history_length: int = 0
    # The workflow run that took this step: a newer run of the same workflow (ops reset it)
    # owns the attempt from the step it rewrites on. None for a step ops wrote (`abandoned`).
    run_id: str | None = None
    status: AttemptStatus | None = None
    event: StepEvent
    detail: dict = Field(default_factory=dict)
    at: datetime
    error_reason: str | None = None
    vendor: VendorSessionRef | None = None


class ReviewTaskChange(BaseModel):
    attempt_id: str
    state: ReviewState
    at: datetime
    flagged: bool = False
    audit_outcome: str | None = None
    decided_by: str | None = None
    ops: ReviewOps | None = None  # claims, deadline, priority, reviews: written whole when given


class StepBatch(BaseModel):
    """What the workflow did since it last waited, written in one transaction: its steps in
    order, and the review task's changes in order."""

    changes: list[StatusChange] = Field(default_factory=list)
    reviews: list[ReviewTaskChange] = Field(default_factory=list)


class CompletionRequest(BaseModel):
    """Complete the lesson (then course, certificate): by the decision, if any, and the exam
    result stored on the attempt."""

    attempt_id: str
    key: AttemptKey
    decision: Decision | None
    at: datetime


class DecisionStep(BaseModel):
    """A reviewer's decision and all it causes, written in one transaction, in this order: the
    move to passed or failed, the review task, the lesson, course and certificate, then the
    steps that report the completion (their detail gets the `CompletionReport`)."""

    decided: StatusChange
    review: ReviewTaskChange | None
    completion: CompletionRequest
    reported: list[StatusChange]


class CompletionReport(BaseModel):
    lesson_success: bool
    course_completed: bool
    course_reason: str
    certificate_issued: bool

    def describe(self) -> str:
        """In words, for the reviewer: "lesson completed, course completed, certificate issued"."""
        parts = ["lesson completed" + ("" if self.lesson_success else " as failed")]
        parts.append(
            "course completed" if self.course_completed else f"course not completed ({self.course_reason})"
        )
        if self.certificate_issued:
            parts.append("certificate issued")
        return ", ".join(parts)


# --- Query ----------------------------------------------------------------------------------


class AttemptState(BaseModel):
    """The attempt's facts as the workflow holds them: what its `state` query returns."""

    attempt_id: str
    status: AttemptStatus = AttemptStatus.CREATED
    review_state: ReviewState | None = None
    vendor_session_id: str | None = None
    started: bool = False
    started_at: datetime | None = None
    finished: bool = False
    finished_at: datetime | None = None
    capped: bool = False  # the session ended at its time limit, not by FINISH
    exam: ExamResult | None = None
    audit: AuditReport | None = None
    audit_at: datetime | None = None
    decision: Decision | None = None
    decided_by: str | None = None
    completion: CompletionReport | None = None
    review_ops: ReviewOps = Field(default_factory=ReviewOps)
    waiting_for: str

    @property
    def lesson_completed(self) -> bool:
        return self.completion is not None
