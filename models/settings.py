"""An organisation's settings for its review team (`PUT /api/v1/settings`): the review deadline,
claims, second review, who hears of escalations, what e-mails go out and how they read."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from models.text import Line, Text

NoticeKind = Literal["learner_submitted", "learner_decided", "reviewer_digest", "escalation"]
NOTICE_KINDS: tuple[NoticeKind, ...] = (
    "learner_submitted",
    "learner_decided",
    "reviewer_digest",
    "escalation",
)
Locale = Literal["en", "fr", "de", "es"]


class Notifications(BaseModel):
    model_config = ConfigDict(extra="forbid")

    learner_submitted: bool = Field(
        default=False, description="e-mail the learner when the attempt is submitted"
    )
    learner_decided: bool = Field(default=False, description="e-mail the learner when it is passed or failed")
    reviewer_digest: bool = Field(default=False, description="e-mail the reviewers a digest of ready tasks")
    digest_recipients: list[EmailStr] = Field(default_factory=list, max_length=100)


class Template(BaseModel):
    """One notice's own wording; `{placeholders}` as docs/reviewer-operations.md lists them."""

    model_config = ConfigDict(extra="forbid")

    subject: Line = Field(min_length=1, max_length=200)
    body: Text = Field(min_length=1, max_length=10000)


class SettingsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    review_sla_hours: int | None = Field(
        default=None, ge=1, le=720, description="hours after a task is ready before it is overdue; null: none"
    )
    claim_timeout_minutes: int = Field(
        default=60, ge=5, le=1440, description="a claim not decided is released after this"
    )
    second_review_for_flagged: bool = Field(
        default=False, description="flagged audits need two reviewers who agree"
    )
    escalation_email: EmailStr | None = Field(
        default=None, description="told of overdue tasks and disagreements"
    )
    notifications: Notifications = Field(default_factory=Notifications)
    sender_name: Line = Field(default="ProctorFlow", min_length=1, max_length=100)
    locale: Locale = "en"
    templates: dict[NoticeKind, Template] = Field(
        default_factory=dict, description="replace the built-in wording"
    )
    retention_days: int | None = Field(
        default=None, ge=1, le=3650, description="how long personal data is kept after an attempt completes"
    )


class SettingsOut(SettingsIn):
    updated_at: datetime | None = None
