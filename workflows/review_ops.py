"""The review team's side of an attempt (SPEC, "Reviewer operations"): a reviewer claims the
ready task (or is assigned it) and holds it until they decide, release it, or the claim lapses;
a task not decided by its deadline is escalated; a flagged audit, where the organisation asks
for it, needs two reviewers who agree, and a disagreement is escalated.

Claims are Updates with validators, so two reviewers claiming at once are answered one by one:
one holds it, the other is refused with who does. The rules are pure (models/review_ops.py)."""

from __future__ import annotations

import contextlib
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

from workflows.staff_actions import StaffActions

with workflow.unsafe.imports_passed_through():
    from models.payloads import DecisionRequest
    from models.review_ops import (
        ClaimReply,
        ClaimRequest,
        Review,
        claim_refusal,
        needs_second_review,
        overdue,
        release_refusal,
        second_review,
    )
    from models.statuses import ReviewState, StepEvent


class ReviewOperations(StaffActions):
    _flagged: bool  # the audit was flagged or never came: what a second review is for
    _ops_changed: bool  # a claim moved: the wait for a decision recomputes its deadlines

    async def _await_decision(self) -> None:
        """Wait for the reviewer's pass or fail, escalating the task at its deadline and
        releasing a claim that lapsed, each at its own time."""
        while self._state.decision is None:
            ops = self._state.review_ops
            ends = [
                end
                for end in (None if "overdue" in ops.escalations else ops.due_at, ops.claim_expires_at)
                if end
            ]
            timeout = max(min(ends) - workflow.now(), timedelta(0)) if ends else None
            self._ops_changed = False
            with contextlib.suppress(TimeoutError):
                await self._wait(
                    lambda: self._state.decision is not None or self._ops_changed, timeout=timeout
                )
            now = workflow.now()
            if self._state.decision is None and overdue(ops, now):
                self._escalate("overdue")
            if ops.claim_expires_at is not None and now >= ops.claim_expires_at:
                self._release("timed out")

    # --- Claims ---------------------------------------------------------------------------

    @workflow.update
    async def claim(self, request: ClaimRequest) -> ClaimReply:
        """A reviewer takes the ready task: nobody else decides it while they hold it."""
        ops = self._state.review_ops
        renewed = ops.assignee == request.reviewer
        self._hold(request)
        if not renewed:
            self._note(StepEvent.CLAIMED, {"reviewer": request.reviewer, "by": request.by})
        await self._flush()
        return ClaimReply(
            assignee=ops.assignee,
            claim_expires_at=ops.claim_expires_at,
            message=f"held by {request.reviewer} until {ops.claim_expires_at:%H:%M} UTC unless decided",
        )

    @claim.validator
    def _validate_claim(self, request: ClaimRequest) -> None:
        _refuse(self._open_task_refusal() or claim_refusal(self._state.review_ops, request.reviewer))

    @workflow.update
    async def release(self, request: ClaimRequest) -> ClaimReply:
        self._release("released", by=request.by)
        await self._flush()
        return ClaimReply(assignee=None, claim_expires_at=None, message="released: any reviewer may claim it")

    @release.validator
    def _validate_release(self, request: ClaimRequest) -> None:
        _refuse(self._open_task_refusal() or release_refusal(self._state.review_ops, request.reviewer))

    @workflow.update
    async def assign(self, request: ClaimRequest) -> ClaimReply:
        """Whoever leads the team gives the task to a reviewer, taking it from its holder."""
        ops = self._state.review_ops
        if ops.assignee is not None and ops.assignee != request.reviewer:
            self._release("reassigned", by=request.by)
        self._hold(request)
        self._note(StepEvent.CLAIMED, {"reviewer": request.reviewer, "by": request.by})
        await self._flush()
        return ClaimReply(
            assignee=ops.assignee,
            claim_expires_at=ops.claim_expires_at,
            message=f"assigned to {request.reviewer}",
        )

    @assign.validator
    def _validate_assign(self, request: ClaimRequest) -> None:
        _refuse(self._open_task_refusal())

    def _hold(self, request: ClaimRequest) -> None:
        ops, now = self._state.review_ops, workflow.now()
        ops.assignee, ops.claimed_at = request.reviewer, now
        ops.claim_expires_at = now + timedelta(minutes=request.timeout_minutes)
        self._ops_moved()

    def _release(self, why: str, by: str | None = None) -> None:
        ops = self._state.review_ops
        if ops.assignee is None:
            return
        detail = {"reviewer": ops.assignee, "why": why} | ({"by": by} if by else {})
        ops.assignee, ops.claimed_at, ops.claim_expires_at = None, None, None
        self._note(StepEvent.RELEASED, detail)
        self._ops_moved()

    def _open_task_refusal(self) -> str | None:
        if self._state.review_state != ReviewState.READY_FOR_REVIEW or self._state.decision is not None:
            state = self._state.review_state or "not created"
            return f"the task is {state}: only a task ready for review can be claimed"
        return None

    # --- Deadlines, second review -----------------------------------------------------------

    def _escalate(self, why: str) -> None:
        """Priority raised, the LMS told (`review_task.escalated`), the contact e-mailed."""
        ops = self._state.review_ops
        ops.priority, ops.escalated_at = "high", workflow.now()
        ops.escalations.append(why)
        self._note(StepEvent.ESCALATED, {"why": why})
        self._ops_moved()

    def _second_review_pending(self, request: DecisionRequest) -> str | None:
        """Take one reviewer's verdict on a task that needs two: a message when the task stays
        open (the first verdict, or a disagreement), None when the decision stands."""
        if not needs_second_review(self._attempt.review_policy, self._flagged):
            return None
        ops = self._state.review_ops
        outcome = second_review(ops.reviews, request.decision)  # type: ignore[arg-type]
        ops.reviews.append(Review(reviewer=request.reviewer, decision=request.decision, at=workflow.now()))  # type: ignore[arg-type]
        if outcome in ("agreed", "settled"):
            return None
        self._note(StepEvent.REVIEWED, {"reviewer": request.reviewer, "decision": request.decision})
        self._release("reviewed")
        if outcome == "first":
            self._ops_moved()
            return "first review recorded: a second reviewer must agree before it is decided"
        self._escalate("disagreement")
        return "the reviewers disagree: escalated to the escalation contact; the next decision settles it"

    def _ops_moved(self) -> None:
        """Write the task's operational facts with the next steps, and wake the wait."""
        self._set_review_state(
            self._state.review_state or ReviewState.READY_FOR_REVIEW, flagged=self._flagged
        )
        self._ops_changed = True


def _refuse(refusal: str | None) -> None:
    if refusal:
        raise ApplicationError(refusal, type="ReviewRefused", non_retryable=True)
