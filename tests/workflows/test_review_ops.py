"""Reviewer operations on the time-skipping server (SPEC, "Reviewer operations"): the review
deadline escalates an overdue task at its hour and not before; a claim lapses after its timeout;
a flagged audit needs two reviewers who agree. Times are workflow times of the written steps."""

from __future__ import annotations

from datetime import timedelta

import pytest
from temporalio.client import WorkflowUpdateFailedError

from models.payloads import AuditReport, DecisionRequest
from models.review_ops import ClaimRequest, ReviewPolicy
from models.statuses import AttemptStatus as S
from tests.workflows.event_stubs import record_history
from tests.workflows.story import attempt, since, takes_exam, until
from tests.workflows.stubs import Stubs
from workflows import search_attributes
from workflows.attempt import AttemptWorkflow

EIGHT_HOURS = ReviewPolicy(sla_hours=8)
SECOND_REVIEW = ReviewPolicy(second_review_for_flagged=True)


async def ready(handle, outcome: str = "clean") -> None:
    await takes_exam(handle)
    await handle.signal(AttemptWorkflow.audit_completed, AuditReport(outcome=outcome))
    await until(handle, lambda s: s.status == S.READY_FOR_REVIEW)


def claim(reviewer: str, minutes: int = 60) -> ClaimRequest:
    return ClaimRequest(reviewer=reviewer, by=reviewer, timeout_minutes=minutes)


async def decide(handle, decision: str, reviewer: str):
    return await handle.execute_update(
        AttemptWorkflow.decide, DecisionRequest(decision=decision, reviewer=reviewer)
    )


async def test_a_task_ready_at_nine_with_an_8_hour_sla_escalates_at_five_and_not_before(time_skipping):
    stubs = Stubs()
    async with attempt(time_skipping, stubs, "full", True, True, review_policy=EIGHT_HOURS) as h:
        await ready(h)
        state = await h.query(AttemptWorkflow.state)
        ready_at = stubs.step("ready_for_review").at
        assert state.review_ops.due_at is not None and since(state.review_ops.due_at, ready_at) == timedelta(
            hours=8
        )

        await time_skipping.sleep(timedelta(hours=7, minutes=59))
        assert (await h.query(AttemptWorkflow.state)).review_ops.escalations == []
        await time_skipping.sleep(timedelta(minutes=2))
        escalated = await until(h, lambda s: s.review_ops.escalations == ["overdue"])
        assert escalated.review_ops.priority == "high"
        await decide(h, "pass", "rita")
        await h.result()
        await record_history(h, "review_escalated_overdue")

    step = stubs.step("escalated")
    assert step.detail == {"why": "overdue"}
    assert since(step.at, ready_at) == timedelta(hours=8)
    assert stubs.reviews[-1].ops is not None and stubs.reviews[-1].ops.priority == "high"


async def test_a_claimed_tasks_claim_is_released_after_its_timeout(time_skipping):
    stubs = Stubs()
    async with attempt(time_skipping, stubs, "full", True, True) as h:
        await ready(h)
        reply = await h.execute_update(AttemptWorkflow.claim, claim("ana", minutes=30))
        assert reply.assignee == "ana"
        shown = (await h.describe()).typed_search_attributes
        assert shown.get(search_attributes.REVIEW_ASSIGNEE) == "ana"  # Temporal Web: ReviewAssignee = 'ana'
        with pytest.raises(WorkflowUpdateFailedError) as taken:
            await h.execute_update(AttemptWorkflow.claim, claim("bo"))
        assert "claimed by ana" in taken.value.cause.message
        with pytest.raises(WorkflowUpdateFailedError) as not_holder:
            await decide(h, "pass", "bo")
        assert "only they can decide it" in not_holder.value.cause.message

        await time_skipping.sleep(timedelta(minutes=31))
        released = await until(h, lambda s: s.review_ops.assignee is None)
        assert released.review_ops.claim_expires_at is None
        assert (await h.describe()).typed_search_attributes.get(search_attributes.REVIEW_ASSIGNEE) is None
        await h.execute_update(AttemptWorkflow.claim, claim("bo"))
        await decide(h, "pass", "bo")
        await h.result()
        await record_history(h, "review_claim_lapsed")

    claimed = [c for c in stubs.changes if c.event == "claimed"]
    lapsed = stubs.step("released")
    assert lapsed.detail == {"reviewer": "ana", "why": "timed out"}
    assert since(lapsed.at, claimed[0].at) == timedelta(minutes=30)


async def test_second_review_pass_and_pass_completes(time_skipping):
    stubs = Stubs()
    async with attempt(time_skipping, stubs, "full", True, True, review_policy=SECOND_REVIEW) as h:
        await ready(h, outcome="flagged")
        first = await decide(h, "pass", "ana")
        assert "a second reviewer must agree" in first.message
        with pytest.raises(WorkflowUpdateFailedError) as twice:
            await decide(h, "pass", "ana")
        assert "a different reviewer must give the second" in twice.value.cause.message
        second = await decide(h, "pass", "bo")
        final = await h.result()
        await record_history(h, "second_review_agreed")
    assert second.accepted and final.decision == "pass" and final.status == S.COMPLETED
    assert [r.reviewer for r in final.review_ops.reviews] == ["ana", "bo"]
    assert "escalated" not in stubs.events


async def test_second_review_pass_and_fail_escalates_and_the_next_decision_settles_it(time_skipping):
    stubs = Stubs()
    async with attempt(time_skipping, stubs, "full", True, True, review_policy=SECOND_REVIEW) as h:
        await ready(h, outcome="flagged")
        await decide(h, "pass", "ana")
        disagreed = await decide(h, "fail", "bo")
        assert "escalated" in disagreed.message
        state = await until(h, lambda s: s.review_ops.escalations == ["disagreement"])
        assert state.decision is None and state.review_ops.priority == "high"
        await decide(h, "fail", "lead")
        final = await h.result()
        await record_history(h, "second_review_disagreed")
    assert final.decision == "fail" and final.decided_by == "lead"
    assert stubs.step("escalated").detail == {"why": "disagreement"}


async def test_a_clean_audit_needs_one_reviewer_even_where_second_review_is_asked(time_skipping):
    stubs = Stubs()
    async with attempt(time_skipping, stubs, "full", True, True, review_policy=SECOND_REVIEW) as h:
        await ready(h, outcome="clean")
        await decide(h, "pass", "ana")
        final = await h.result()
    assert final.decision == "pass" and final.review_ops.reviews == []
