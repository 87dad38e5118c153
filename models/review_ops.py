"""Reviewer operations as pure rules (SPEC, "Reviewer operations"): who may claim a task, who
may decide a claimed one, when a task is due and overdue, when a claim lapses, and what a
second review's verdicts add up to. The workflow asks these; the tests check them exhaustively."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, Field

Verdict = Literal["pass", "fail"]
SecondReview = Literal["first", "agreed", "disagreed", "settled"]


class ReviewPolicy(BaseModel):
    """The organisation's settings an attempt opened under (models/settings.py)."""

    sla_hours: int | None = None
    second_review_for_flagged: bool = False


class Review(BaseModel):
    reviewer: str
    decision: Verdict
    at: datetime


class ReviewOps(BaseModel):
    """The review task's operational facts, as the workflow holds them: written whole with each
    change, so the database always has the workflow's latest."""

    assignee: str | None = None
    claimed_at: datetime | None = None
    claim_expires_at: datetime | None = None
    due_at: datetime | None = None
    priority: Literal["normal", "high"] = "normal"
    escalated_at: datetime | None = None  # the latest escalation
    escalations: list[str] = Field(default_factory=list)  # why each: overdue, disagreement
    reviews: list[Review] = Field(default_factory=list)


class ClaimRequest(BaseModel):
    reviewer: str = Field(min_length=1, max_length=200)
    by: str = Field(min_length=1, max_length=200)  # who asks: the reviewer, or who assigns
    timeout_minutes: int = Field(ge=1, le=1440)


class ClaimReply(BaseModel):
    assignee: str | None
    claim_expires_at: datetime | None
    message: str


def due_at(ready_at: datetime, sla_hours: int | None) -> datetime | None:
    return None if sla_hours is None else ready_at + timedelta(hours=sla_hours)


def overdue(ops: ReviewOps, now: datetime) -> bool:
    """Past its deadline and not escalated for it yet (a disagreement is escalated apart)."""
    return ops.due_at is not None and "overdue" not in ops.escalations and now >= ops.due_at


def claim_refusal(ops: ReviewOps, reviewer: str) -> str | None:
    """Why `reviewer` cannot claim the task, or None (claiming one's own again renews it)."""
    if ops.assignee is not None and ops.assignee != reviewer:
        return f"claimed by {ops.assignee}: ask them to release it, or assign it"
    return None


def release_refusal(ops: ReviewOps, reviewer: str) -> str | None:
    if ops.assignee is None:
        return "nobody holds this task"
    if ops.assignee != reviewer:
        return f"claimed by {ops.assignee}: only they can release it (or assign it to someone)"
    return None


def decider_refusal(ops: ReviewOps, reviewer: str) -> str | None:
    """A claimed task is decided by the reviewer who holds it; an unclaimed one by anyone."""
    if ops.assignee is not None and ops.assignee != reviewer:
        return f"claimed by {ops.assignee}: only they can decide it (or assign it to you)"
    return None


def needs_second_review(policy: ReviewPolicy, flagged: bool) -> bool:
    return policy.second_review_for_flagged and flagged


def second_review_refusal(reviews: list[Review], reviewer: str) -> str | None:
    """The same reviewer never gives both reviews (after a disagreement anyone settles it)."""
    if len(reviews) == 1 and reviews[0].reviewer == reviewer:
        return "you gave the first review: a different reviewer must give the second"
    return None


def second_review(reviews: list[Review], decision: Verdict) -> SecondReview:
    """What one more verdict makes of a task that needs two reviewers who agree: the first of
    two; the second, agreeing or not; or, after a disagreement, the one that settles it."""
    if not reviews:
        return "first"
    if len(reviews) == 1:
        return "agreed" if reviews[0].decision == decision else "disagreed"
    return "settled"
