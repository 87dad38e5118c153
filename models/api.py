"""Request and reply bodies of the public HTTP API (v1)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from models.rules import Method

LmsId = Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f/]+$")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# --- Integrations ---------------------------------------------------------------------------


class IntegrationIn(Strict):
    name: str = Field(min_length=1, max_length=200)
    api_key: str = Field(min_length=1, max_length=500)
    api_secret: str = Field(min_length=1, max_length=500)
    is_active: bool = True


class IntegrationPatch(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    is_active: bool | None = None
    api_key: str | None = Field(default=None, min_length=1, max_length=500)
    api_secret: str | None = Field(default=None, min_length=1, max_length=500)


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
    title: str = Field(min_length=1, max_length=500)
    type: str = Field(min_length=1, max_length=100)
    required: bool = True
    allows_retakes: bool = False


class CourseSettingsIn(Strict):
    score_lesson_id: str | None = None
    complete_on_failure: bool = False
    certificate: bool = False


class CourseIn(Strict):
    title: str = Field(min_length=1, max_length=500)
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
    integration_id: str = Field(min_length=1, max_length=200)
    instructions: str = Field(default="", max_length=20000)
    method: Method
    requires_validation: bool = False


class ProctoringOut(BaseModel):
    course_id: str
    lesson_id: str
    integration_id: str
    instructions: str
    method: Method
    requires_validation: bool
    warnings: list[str]


# --- Attempts -------------------------------------------------------------------------------


class LearnerIn(Strict):
    id: str = LmsId
    name: str = Field(min_length=1, max_length=300)
    email: EmailStr


class OpenAttemptIn(Strict):
    course_id: str = LmsId
    lesson_id: str = LmsId
    learner: LearnerIn
    attempt_number: int = Field(ge=1, le=10000)


class OpenAttemptOut(BaseModel):
    attempt_id: str
    status: str
    lesson_title: str
    instructions: str
    setup_url: str | None
    method: Method


class ExamResultIn(Strict):
    score: float | None = Field(default=None, ge=0, le=100)
    passed: bool


class DecisionIn(Strict):
    decision: Literal["pass", "fail"]
    reviewer: str = Field(min_length=1, max_length=200)
