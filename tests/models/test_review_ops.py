"""Reviewer operations' rules (models/review_ops.py), exhaustively: claims, deciders, deadlines
and second reviews."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from models.review_ops import (
    Review,
    ReviewOps,
    ReviewPolicy,
    claim_refusal,
    decider_refusal,
    due_at,
    needs_second_review,
    overdue,
    release_refusal,
    second_review,
    second_review_refusal,
)

NINE = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
REVIEWERS = (None, "ana", "bo")


def test_a_task_ready_at_nine_with_an_8_hour_sla_is_due_at_five():
    assert due_at(NINE, 8) == NINE + timedelta(hours=8)
    assert due_at(NINE, None) is None


@pytest.mark.parametrize("minutes", [-1, 0, 1, 60])
def test_overdue_from_its_deadline_on_and_only_until_escalated_for_it(minutes):
    ops = ReviewOps(due_at=NINE + timedelta(hours=8))
    now = ops.due_at + timedelta(minutes=minutes)
    assert overdue(ops, now) is (minutes >= 0)
    assert not overdue(ops.model_copy(update={"escalations": ["overdue"]}), now)
    assert overdue(ops.model_copy(update={"escalations": ["disagreement"]}), now) is (minutes >= 0)
    assert not overdue(ReviewOps(), now)  # no deadline


@pytest.mark.parametrize(("holder", "asker"), list(itertools.product(REVIEWERS, ("ana", "bo"))))
def test_claims_release_and_decisions_belong_to_the_holder(holder, asker):
    ops = ReviewOps(assignee=holder)
    others = holder is not None and holder != asker
    assert (claim_refusal(ops, asker) is not None) is others
    assert (decider_refusal(ops, asker) is not None) is others
    assert (release_refusal(ops, asker) is None) is (holder == asker)
    if others:
        assert f"claimed by {holder}" in (claim_refusal(ops, asker) or "")


@pytest.mark.parametrize(
    ("policy", "flagged", "needed"),
    [(True, True, True), (True, False, False), (False, True, False), (False, False, False)],
)
def test_a_second_review_only_for_flagged_audits_where_the_organisation_asks(policy, flagged, needed):
    assert needs_second_review(ReviewPolicy(second_review_for_flagged=policy), flagged) is needed


def review(reviewer: str, decision: str) -> Review:
    return Review(reviewer=reviewer, decision=decision, at=NINE)


@pytest.mark.parametrize(
    ("before", "decision", "outcome"),
    [
        ([], "pass", "first"),
        ([], "fail", "first"),
        ([review("ana", "pass")], "pass", "agreed"),
        ([review("ana", "fail")], "fail", "agreed"),
        ([review("ana", "pass")], "fail", "disagreed"),
        ([review("ana", "fail")], "pass", "disagreed"),
        ([review("ana", "pass"), review("bo", "fail")], "pass", "settled"),
        ([review("ana", "pass"), review("bo", "fail")], "fail", "settled"),
    ],
)
def test_two_reviewers_agree_or_a_third_settles_their_disagreement(before, decision, outcome):
    assert second_review(before, decision) == outcome


def test_the_same_reviewer_never_gives_both_reviews_but_may_settle_a_disagreement():
    assert "different reviewer" in (second_review_refusal([review("ana", "pass")], "ana") or "")
    assert second_review_refusal([review("ana", "pass")], "bo") is None
    assert second_review_refusal([review("ana", "pass"), review("bo", "fail")], "ana") is None
    assert second_review_refusal([], "ana") is None
