"""Manual overrides, as the source product's admins make them: a proctored lesson's score,
success and completion (`PATCH .../lessons/{lesson_id}`, alone or with a changed proctoring
result) and a learner's course completion (`PATCH .../completion`). Each carries who and why; each
is kept (before and after) and told to the LMS as `progress.overridden`, with ids and the new
values only: never the reason, which may name people."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from models.api import ProgressOut, ResultChangeIn, ResultChangeReply, Strict
from models.text import Line, Text

LESSON_FIELDS = ("completed", "success", "score")

REASON = Field(
    min_length=1,
    max_length=2000,
    description="why: kept with the override and shown in its history; never sent in an event",
)
CHANGED_BY = Field(
    min_length=1, max_length=200, description="who made it (kept with it, as with a result change)"
)
SCORE = Field(default=None, ge=0, le=100, allow_inf_nan=False, description="the score, 0 to 100")


class LessonPatchIn(Strict):
    """A changed proctoring result, manual overrides of the lesson, or both in one transaction.
    A field left out (or null) is left as it is."""

    proctoring_result: Literal["passed", "failed"] | None = Field(
        default=None, description="the proctoring column, changed after the fact"
    )
    completed: bool | None = Field(
        default=None,
        description="true: completed now (a completed lesson keeps its date; success is kept, or "
        "true if it has none); false: un-completed (completed_at cleared, success and score kept)",
    )
    success: bool | None = Field(default=None, description="whether the learner passed the lesson")
    score: float | None = SCORE
    reason: Text = REASON
    changed_by: Line = CHANGED_BY
    reevaluate_course: bool = Field(
        default=False,
        description="apply the course's rules again afterwards; without it only the lesson changes",
    )

    @model_validator(mode="after")
    def _something_to_change(self) -> LessonPatchIn:
        if self.proctoring_result is None and not self.overrides():
            raise ValueError("give proctoring_result, or at least one of completed, success, score")
        return self

    def overrides(self) -> dict[str, Any]:
        """The lesson fields this request overrides, with their new values."""
        given = {name: getattr(self, name) for name in LESSON_FIELDS}
        return {name: value for name, value in given.items() if value is not None}

    def result_change(self) -> ResultChangeIn:
        """The request as the result change it is when it overrides nothing."""
        return ResultChangeIn.model_validate(
            self.model_dump(include={"proctoring_result", "reason", "changed_by", "reevaluate_course"})
        )


class CourseCompletionOverrideIn(Strict):
    """A learner's course completion, set or cleared by hand."""

    completed: bool = Field(
        description="true: completed now (a completed course keeps its date) and its certificate "
        "issued when the course has one; false: un-completed, success and score cleared, a held "
        "certificate revoked"
    )
    success: bool | None = Field(
        default=None,
        description="with completed true: whether the learner passed (default: kept, or true if "
        "none); a completion without success issues no certificate and revokes a held one",
    )
    score: float | None = SCORE
    reason: Text = REASON
    changed_by: Line = CHANGED_BY

    @model_validator(mode="after")
    def _nothing_to_keep_when_cleared(self) -> CourseCompletionOverrideIn:
        if not self.completed and (self.success is not None or self.score is not None):
            raise ValueError("success and score go with completed true: un-completing clears them")
        return self


class LessonOverrideReply(ProgressOut):
    """The learner's progress after the override, as GET .../progress answers it."""

    result_change: ResultChangeReply | None = Field(
        default=None, description="the proctoring result change made in the same request, if any"
    )


class ManualOverrideOut(BaseModel):
    id: int
    lesson_id: str | None = Field(description="null: the course's completion")
    before: dict[str, Any] = Field(description="the fields it changed, as they were")
    after: dict[str, Any] = Field(description="the same fields, as it left them")
    reason: str
    changed_by: str
    at: datetime


class ManualOverrideList(BaseModel):
    items: list[ManualOverrideOut] = Field(description="newest first")
