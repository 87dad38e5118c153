"""The attempt state machine: a completed status never goes back to an incomplete one."""

from __future__ import annotations

import itertools

import pytest

from models.statuses import TERMINAL, AttemptStatus, can_move

S = AttemptStatus
HAPPY_PATHS = [
    [
        S.CREATED,
        S.AWAITING_SETUP,
        S.IN_PROGRESS,
        S.FINISHED,
        S.AWAITING_AUDIT,
        S.READY_FOR_REVIEW,
        S.PASSED,
        S.COMPLETED,
    ],
    [S.CREATED, S.AWAITING_SETUP, S.IN_PROGRESS, S.FINISHED, S.READY_FOR_REVIEW, S.FAILED, S.COMPLETED],
    [S.CREATED, S.AWAITING_SETUP, S.FINISHED, S.COMPLETED],
    [S.CREATED, S.AWAITING_SETUP, S.EXPIRED],
]


@pytest.mark.parametrize("path", HAPPY_PATHS, ids=lambda p: ">".join(p))
def test_every_path_the_workflow_takes_is_allowed(path):
    assert all(can_move(a, b) for a, b in itertools.pairwise(path))


@pytest.mark.parametrize(("terminal", "other"), list(itertools.product(sorted(TERMINAL), list(S))))
def test_a_completed_status_never_goes_back_only_staff_may_void_it(terminal, other):
    assert can_move(terminal, other) is (terminal == other or other == S.VOIDED)


@pytest.mark.parametrize("status", list(S))
def test_staff_may_void_an_attempt_in_any_status_and_a_voided_one_moves_nowhere_else(status):
    assert can_move(status, S.VOIDED)
    assert can_move(S.VOIDED, status) is (status == S.VOIDED)


@pytest.mark.parametrize("status", [s for s in S if s not in TERMINAL])
def test_any_open_status_can_be_parked_in_error(status):
    assert can_move(status, S.ERROR)


@pytest.mark.parametrize(
    ("parked_from", "target"),
    list(itertools.product([s for s in S if s not in TERMINAL and s != S.ERROR], list(S))),
)
def test_error_resumes_only_where_it_was_parked(parked_from, target):
    allowed = target in (parked_from, S.ERROR, S.VOIDED) or can_move(parked_from, target)
    assert can_move(S.ERROR, target, resumed_from=parked_from) is allowed


def test_error_without_a_known_origin_goes_nowhere():
    assert not can_move(S.ERROR, S.AWAITING_SETUP)


@pytest.mark.parametrize(
    ("a", "b"), [(S.PASSED, S.READY_FOR_REVIEW), (S.FINISHED, S.IN_PROGRESS), (S.AWAITING_AUDIT, S.FINISHED)]
)
def test_no_step_backwards(a, b):
    assert not can_move(a, b)
