"""What the LMS reports of the lessons ProctorFlow does not proctor (an intro video, an
unproctored quiz), so that a course whose last required lesson is one of them can complete.
A proctored lesson's completion comes from its attempts, never from a report."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from models.api import LmsId

Source = Literal["lms", "attempt"]  # where a lesson's completion came from


class LessonCompletionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    completed: bool = Field(description="true: the learner completed the lesson in the LMS")
    success: bool = Field(default=True, description="whether the learner passed it (default true)")
    score: float | None = Field(default=None, allow_inf_nan=False, description="its score, if it has one")
    completed_at: datetime | None = Field(default=None, description="when, with a time zone (default: now)")

    @field_validator("completed_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("give completed_at with a time zone, e.g. 2026-11-29T10:00:00Z")
        return value


class LessonCompletionOut(BaseModel):
    lesson_id: str
    learner_id: str
    applied: Literal["completed", "unchanged", "not_completed"]
    completed: bool
    completed_at: datetime | None
    success: bool | None
    score: float | None
    source: Source | None
    course_completed: bool
    certificate_issued: bool
    message: str


class BulkCompletionIn(LessonCompletionIn):
    learner_id: str = LmsId
    lesson_id: str = LmsId


class BulkCompletionsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[BulkCompletionIn] = Field(min_length=1, max_length=1000)


class ItemError(BaseModel):
    code: str
    message: str


class BulkCompletionResult(BaseModel):
    learner_id: str
    lesson_id: str
    status: int = Field(description="what this item alone would have answered: 200, 404 or 409")
    result: LessonCompletionOut | None = None
    error: ItemError | None = None


class BulkCompletionsOut(BaseModel):
    results: list[BulkCompletionResult]  # in the order of the items
    completed: int
    unchanged: int
    refused: int
