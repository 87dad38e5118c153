"""Request and reply bodies of the public HTTP API (v1)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from models.rules import Method
from models.text import Line, Text

LmsId = Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f/]+$")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# --- Integrations ---------------------------------------------------------------------------


class IntegrationIn(Strict):
    name: Line = Field(min_length=1, max_length=200)
    api_key: Line = Field(min_length=1, max_length=500)
    api_secret: Line = Field(min_length=1, max_length=500)
    is_active: bool = True


class IntegrationPatch(Strict):
    name: Line | None = Field(default=None, min_length=1, max_length=200)
    is_active: bool | None = None
    api_key: Line | None = Field(default=None, min_length=1, max_length=500)
    api_secret: Line | None = Field(default=None, min_length=1, max_length=500)


class IntegrationOut(BaseModel):
    """Never carries the credentials."""

    id: str
    name: str
    is_active: bool
    created_at: datetime
    updated_at: datetime


# --- Catalog --------------------------------------------------------------------------------


class LessonIn(Strict):
    id: str = LmsId
    title: Line = Field(min_length=1, max_length=500)
    type: Line = Field(min_length=1, max_length=100)
    required: bool = True
    allows_retakes: bool = False


class CourseSettingsIn(Strict):
    score_lesson_id: Line | None = Field(default=None, max_length=200)
    complete_on_failure: bool = False
    certificate: bool = False


class CourseIn(Strict):
    title: Line = Field(min_length=1, max_length=500)
    lessons: list[LessonIn] = Field(max_length=1000)
    settings: CourseSettingsIn = Field(default_factory=CourseSettingsIn)

    @field_validator("lessons")
    @classmethod
    def _unique_lesson_ids(cls, lessons: list[LessonIn]) -> list[LessonIn]:
        ids = [lesson.id for lesson in lessons]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"lesson ids must be unique; repeated: {', '.join(duplicates)}")
        return lessons


class ProctoringIn(Strict):
    integration_id: Line = Field(min_length=1, max_length=200)
    instructions: Text = Field(default="", max_length=20000)
    method: Method
    requires_validation: bool = False
    time_limit_minutes: int | None = Field(
        default=None, ge=1, le=1440, description="minutes at ProctorFree; null: none but the vendor's cap"
    )


class ProctoringOut(BaseModel):
    course_id: str
    lesson_id: str
    integration_id: str
    instructions: str
    method: Method
    requires_validation: bool
    time_limit_minutes: int | None = None
    warnings: list[str]


# --- Attempts -------------------------------------------------------------------------------


class LearnerIn(Strict):
    id: str = LmsId
    name: Line = Field(min_length=1, max_length=300)
    email: EmailStr


class OpenAttemptIn(Strict):
    course_id: str = LmsId
    lesson_id: str = LmsId
    learner: LearnerIn
    attempt_number: int = Field(ge=1, le=10000)


SETUP_URL = Field(
    description='ProctorFree\'s set-up page for this attempt ("Set up Proctoring"): null until the '
    "attempt's workflow has opened the proctored session, usually within a second; open the lesson "
    "again (or GET /attempts/{attempt_id}) to get it"
)


class OpenAttemptOut(BaseModel):
    attempt_id: str
    status: str
    lesson_title: str
    instructions: str
    setup_url: str | None = SETUP_URL
    method: Method
    allowed_minutes: int | None = Field(
        default=None,
        description="the learner's minutes at ProctorFree (accommodations included); null: no limit",
    )
    warnings: list[str] = Field(
        default_factory=list, description="e.g. ProctorFree's cap cut the minutes short"
    )


class ExamResultIn(Strict):
    score: float | None = Field(default=None, ge=0, le=100)
    passed: bool


class DecisionIn(Strict):
    decision: Literal["pass", "fail"]
    reviewer: Line = Field(min_length=1, max_length=200)


# --- Replies --------------------------------------------------------------------------------


class IntegrationList(BaseModel):
    items: list[IntegrationOut]


class LessonProctoringOut(BaseModel):
    integration_id: str
    instructions: str
    method: Method
    requires_validation: bool
    time_limit_minutes: int | None = None


class LessonOut(BaseModel):
    id: str
    title: str
    type: str
    required: bool
    allows_retakes: bool
    proctoring: LessonProctoringOut | None  # None: not proctored
    warnings: list[str] = Field(default_factory=list)


class CourseSettingsOut(BaseModel):
    score_lesson_id: str | None
    complete_on_failure: bool
    certificate: bool


class CourseOut(BaseModel):
    id: str
    title: str
    settings: CourseSettingsOut
    lessons: list[LessonOut]
    updated_at: datetime


class ExamResultOut(BaseModel):
    score: float | None
    passed: bool


class ExamResultAccepted(BaseModel):
    attempt_id: str
    status: str
    exam: ExamResultOut
    message: str


class AttemptEventOut(BaseModel):
    seq: int
    event: str
    status: str | None
    at: datetime
    detail: dict


class ReviewTaskSummary(BaseModel):
    id: str
    state: str
    flagged: bool
    completed_at: datetime | None
    decided_by: str | None


class AttemptOut(BaseModel):
    """One attempt as the LMS and ops see it: ids and states, never the learner's name or e-mail."""

    attempt_id: str
    status: str
    method: Method
    course_id: str
    lesson_id: str
    learner_id: str
    attempt_number: int
    required: bool
    requires_validation: bool
    vendor_session_id: str | None
    setup_url: str | None = SETUP_URL
    error_reason: str | None
    allowed_minutes: int | None = None  # the learner's minutes at ProctorFree; None: no limit
    accommodated: bool = False  # an accommodation gave it more time
    retake_granted: bool = False  # staff reset it: the next attempt may open even without retakes
    exam: ExamResultOut | None
    review_task: ReviewTaskSummary | None
    created_at: datetime
    updated_at: datetime
    events: list[AttemptEventOut]


class ReviewTaskOut(BaseModel):
    id: str
    type: str
    attempt_id: str
    course_id: str
    lesson_id: str
    learner_id: str
    method: Method
    state: str
    flagged: bool
    audit_outcome: str | None
    created_at: datetime
    ready_at: datetime | None
    completed_at: datetime | None  # "Task completed at": None while the task is open
    decided_by: str | None
    review_url: str | None  # "Review in Proctoring Service": the session in ProctorFree
    accommodated: bool = False  # the learner had extra time (the reviewer UI shows the note)
    allowed_minutes: int | None = None  # the learner's minutes at ProctorFree; None: no limit
    assignee: str | None = None  # the reviewer who holds it (claimed or assigned)
    claimed_at: datetime | None = None
    due_at: datetime | None = None  # ready + the organisation's review_sla_hours
    priority: str = "normal"  # high once overdue, or when its two reviewers disagreed
    reviews: list[dict] = Field(default_factory=list)  # a second review's verdicts: reviewer, decision, at


class ClaimIn(Strict):
    reviewer: Line = Field(min_length=1, max_length=200, description="who claims, releases or is assigned it")
    by: Line | None = Field(default=None, max_length=200, description="who assigns it (assign only)")


class ReviewTaskDetail(ReviewTaskOut):
    attempt_status: str
    notice: str  # what a reviewer who opens the task is told


class ReviewTaskPage(BaseModel):
    items: list[ReviewTaskOut]
    total: int
    limit: int
    offset: int


class LessonProgressOut(BaseModel):
    lesson_id: str
    title: str
    type: str
    required: bool
    proctored: bool
    method: Method | None
    completed: bool
    completed_at: datetime | None
    success: bool | None
    score: float | None
    proctoring_result: str | None  # passed / failed: the course progress's proctoring column
    completed_by: Literal["lms", "attempt"] | None = Field(
        default=None, description="where the completion came from: reported by the LMS, or an attempt"
    )
    latest_attempt_id: str | None
    latest_attempt_status: str | None


class CourseCompletionOut(BaseModel):
    completed: bool
    completed_at: datetime | None
    success: bool | None
    score: float | None


class CertificateOut(BaseModel):
    id: str


class ResultChangeOut(BaseModel):
    lesson_id: str
    previous: str | None
    new: str
    reason: str
    changed_by: str
    reevaluated_course: bool
    at: datetime


class ProgressOut(BaseModel):
    course_id: str
    learner_id: str
    lessons: list[LessonProgressOut]
    course: CourseCompletionOut
    certificate: CertificateOut | None
    changes: list[ResultChangeOut]  # newest first


class ResultChangeIn(Strict):
    proctoring_result: Literal["passed", "failed"]
    reason: Text = Field(min_length=1, max_length=2000)
    changed_by: Line = Field(min_length=1, max_length=200)
    reevaluate_course: bool = False


class ResultChangeReply(BaseModel):
    lesson_id: str
    # "decision": the attempt still awaited a pass or fail, and its workflow took it;
    # "change": a completed lesson's result was changed after the fact.
    applied_as: Literal["decision", "change"]
    previous: str | None
    new: str
    course_reevaluated: bool
    course_completed: bool
    attempt_status: str | None
    message: str


class WebhookAccepted(BaseModel):
    accepted: bool
    event_id: str
