"""What the task page says about claims: who holds the task, until when, what the signed-in
reviewer may do about it (claim, release, assign, decide), and a second review's verdicts. The
rules are the workflow's own (`models.review_ops`), so the page says what the workflow will."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from models.review_ops import Review, ReviewOps, decider_refusal, second_review_refusal
from models.statuses import ReviewState
from models.tables import Reviewer, ReviewTask


@dataclass(frozen=True)
class ClaimView:
    """Who holds the task and what the signed-in reviewer can do about it."""

    assignee: str | None
    assignee_name: str  # the holder's display name, or their username
    claimed_at: datetime | None
    expires_at: datetime | None  # when the workflow releases the claim unless it is decided
    mine: bool
    can_claim: bool  # ready, and nobody else holds it (claiming one's own again renews it)
    can_assign: bool
    cannot_decide: str | None  # the workflow's refusal this reviewer's decision would meet
    reviewers: list[Reviewer]  # the organisation's, for "Assign to…"
    reviews: list[Review]  # a second-review task's verdicts so far
    second_review: str | None  # those verdicts, in words


def load_claim(session: Session, org_id: str, task: ReviewTask, username: str) -> ClaimView:
    reviewers = list(
        session.exec(select(Reviewer).where(Reviewer.org_id == org_id).order_by(col(Reviewer.username)))
    )
    names = {reviewer.username: reviewer.display_name or reviewer.username for reviewer in reviewers}
    ready = task.state == ReviewState.READY_FOR_REVIEW
    holder = task.assignee
    reviews = [Review.model_validate(review) for review in task.reviews or []]
    ops = ReviewOps(assignee=holder, reviews=reviews)
    return ClaimView(
        assignee=holder,
        assignee_name=names.get(holder, holder) if holder else "",
        claimed_at=task.claimed_at,
        expires_at=task.claim_expires_at if holder else None,
        mine=holder is not None and holder == username,
        can_claim=ready and holder in (None, username),
        can_assign=ready,
        cannot_decide=(decider_refusal(ops, username) or second_review_refusal(reviews, username))
        if ready
        else None,
        reviewers=reviewers,
        reviews=reviews,
        second_review=second_review_words(reviews, ready),
    )


def second_review_words(reviews: list[Review], still_open: bool) -> str | None:
    """A second-review task's verdicts as a sentence: the first, waiting for a second reviewer;
    a disagreement, waiting for the one that settles it; or how it was settled."""
    said = [f"{review.decision} by {review.reviewer}" for review in reviews]
    if not reviews:
        return None
    if len(reviews) == 1:
        if still_open:
            return f"First review: {said[0]}; a second reviewer must agree."
        return f"First review: {said[0]}."
    first, second = reviews[0], reviews[1]
    if first.decision == second.decision:
        return f"Both reviewers agree: {said[0]}, {said[1]}."
    disagreed = f"The reviewers disagree: {said[0]}, {said[1]}"
    if len(reviews) == 2 and still_open:
        return f"{disagreed}. The task was escalated; the next decision settles it."
    if len(reviews) > 2:
        return f"{disagreed}; settled: {said[2]}."
    return f"{disagreed}."
