"""The accommodations API's shapes: extra time for one learner in one course (the terms and how
they apply are `models/time_limits.py`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from models.text import Line, Text
from models.time_limits import MAX_EXTRA_MINUTES, MAX_MULTIPLIER, AccommodationTerms


class AccommodationIn(AccommodationTerms):
    model_config = ConfigDict(extra="forbid")

    extra_minutes: int | None = Field(
        default=None, ge=1, le=MAX_EXTRA_MINUTES, description="minutes added to each lesson's limit"
    )
    time_multiplier: float | None = Field(
        default=None, gt=1.0, le=MAX_MULTIPLIER, description="each lesson's limit times this (1.0 < m <= 4.0)"
    )
    lesson_ids: list[Line] | None = Field(
        default=None, max_length=500, description="the proctored lessons it is for; null: all of the course's"
    )
    note: Text = Field(
        default="",
        max_length=2000,
        description="for the reviewers (ProctorFree's and ours); never sent as an event",
    )
    expires_at: datetime | None = Field(default=None, description="from then on it no longer applies")
    reason: Text = Field(
        default="", max_length=2000, description="why it is set or changed, kept with the change"
    )
    changed_by: Line = Field(default="the LMS", min_length=1, max_length=200, description="who sets it")

    def terms(self) -> AccommodationTerms:
        return AccommodationTerms(
            extra_minutes=self.extra_minutes,
            time_multiplier=self.time_multiplier,
            lesson_ids=self.lesson_ids,
            expires_at=self.expires_at,
        )


class BulkItem(AccommodationIn):
    learner_id: Line = Field(min_length=1, max_length=200)


class BulkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Items are read one by one, so one bad item is reported by its place and the rest apply.
    items: list[dict[str, Any]] = Field(min_length=1, max_length=1000)


class BulkResult(BaseModel):
    index: int = Field(description="the item's place in `items`, from 0")
    learner_id: str | None
    ok: bool
    error: str | None = None
    allowed_minutes: dict[str, int | None] | None = None


class BulkOut(BaseModel):
    applied: int
    refused: int
    results: list[BulkResult]


class AccommodationChangeOut(BaseModel):
    action: str
    before: dict[str, Any] | None = Field(description="the terms before; `has_note` for the note")
    after: dict[str, Any] | None
    reason: str
    changed_by: str
    at: datetime


class AccommodationOut(BaseModel):
    course_id: str
    learner_id: str
    extra_minutes: int | None
    time_multiplier: float | None
    lesson_ids: list[str] | None
    # The note may tell of a disability: the reviewer UI and ProctorFree's reviewer see it; API
    # replies say only whether there is one (the LMS wrote it and keeps its own copy).
    has_note: bool
    expires_at: datetime | None
    in_force: bool = Field(description="false once it has expired")
    allowed_minutes: dict[str, int | None] = Field(
        description="each proctored lesson's minutes for this learner now (null: no limit)"
    )
    warnings: list[str]
    updated_by: str
    updated_at: datetime
    changes: list[AccommodationChangeOut]
