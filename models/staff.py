"""The staff actions API's shapes: extra time on a running session and actions on one attempt
(`models.payloads` has what the workflow's Updates take)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from models.text import Line, Text


class Staff(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: Text = Field(min_length=1, max_length=1000, description="why: kept in the attempt's history")
    by: Line = Field(default="the LMS", min_length=1, max_length=200, description="who acts")


class ExtendIn(Staff):
    minutes: int = Field(
        ge=1, le=240, description="added to the learner's running session, at ProctorFree too"
    )


class StaffActionIn(Staff):
    action: Literal["reset", "void", "resume", "check_now"] = Field(
        description=(
            "reset: void it and let the learner open the next attempt, even where retakes are off; "
            "void: it no longer counts; resume: a parked attempt goes on; check_now: ask ProctorFree now"
        )
    )
