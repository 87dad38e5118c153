"""The rules that decide, checked exhaustively. Each test names the source article's rule."""

from __future__ import annotations

import itertools

import pytest

from models.rules import (
    DECISIONS,
    METHOD_TRAITS,
    METHODS,
    PRACTICE_TIME_LIMIT,
    AttemptPlan,
    CourseRules,
    LessonState,
    course_outcome,
    decision_refusal,
    issues_certificate,
    lesson_outcome,
    proctoring_refusal,
    settings_warnings,
    time_limit,
)
from models.statuses import ReviewState

ALL_PLANS = [AttemptPlan(m, r, v) for m, r, v in itertools.product(METHODS, [True, False], [True, False])]


@pytest.mark.parametrize("lesson_type", ["quiz", "video", "html", "scorm", "assessment", "web_package"])
def test_any_lesson_type_may_be_proctored(lesson_type):
    assert proctoring_refusal(lesson_type, integration_active=True) is None


@pytest.mark.parametrize("lesson_type", ["live_training", "examity"])
def test_live_training_and_examity_lessons_are_never_proctored(lesson_type):
    refusal = proctoring_refusal(lesson_type, integration_active=True)
    assert refusal and lesson_type in refusal


def test_lessons_have_proctoring_only_with_an_active_integration():
    refusal = proctoring_refusal("quiz", integration_active=False)
    assert refusal and "not active" in refusal


def test_full_proctoring_is_recorded_and_audited_record_only_and_practice_are_not_audited():
    assert METHOD_TRAITS["full"].recorded and METHOD_TRAITS["full"].audited
    assert METHOD_TRAITS["record_only"].recorded and not METHOD_TRAITS["record_only"].audited
    assert METHOD_TRAITS["practice"].recorded and not METHOD_TRAITS["practice"].audited
    assert METHOD_TRAITS["practice"].free and not METHOD_TRAITS["full"].free


def test_practice_exams_are_limited_to_20_minutes_and_others_are_not():
    assert PRACTICE_TIME_LIMIT.total_seconds() == 20 * 60
    assert time_limit("practice") == PRACTICE_TIME_LIMIT
    assert time_limit("full") is None and time_limit("record_only") is None


@pytest.mark.parametrize(
    ("required", "requires_validation"), list(itertools.product([True, False], [True, False]))
)
def test_practice_lessons_should_be_optional_without_validation_else_a_warning(required, requires_validation):
    warnings = settings_warnings("practice", required, requires_validation)
    assert len(warnings) == int(required) + int(requires_validation)
    if required or requires_validation:
        assert all("pass" in w and "fail" in w for w in warnings)


@pytest.mark.parametrize("method", ["full", "record_only"])
def test_no_warning_for_non_practice_methods(method):
    for required, validation in itertools.product([True, False], [True, False]):
        assert settings_warnings(method, required, validation) == []


@pytest.mark.parametrize("plan", ALL_PLANS, ids=str)
def test_review_tasks_are_only_created_for_required_lessons(plan):
    assert plan.creates_review_task is plan.required


@pytest.mark.parametrize("plan", ALL_PLANS, ids=str)
def test_full_method_task_starts_not_ready_others_ready_for_review(plan):
    expected = ReviewState.NOT_READY if plan.method == "full" else ReviewState.READY_FOR_REVIEW
    assert plan.initial_review_state == expected


@pytest.mark.parametrize("plan", ALL_PLANS, ids=str)
def test_requires_validation_off_completes_on_exam_result_on_waits_for_decision(plan):
    assert plan.completes_on_exam_result is (not plan.requires_validation)
    if plan.requires_validation:
        assert plan.awaits_decision


@pytest.mark.parametrize("plan", ALL_PLANS, ids=str)
def test_the_audit_is_awaited_only_for_full_method_attempts_someone_reviews(plan):
    assert plan.awaits_audit is (plan.method == "full" and (plan.required or plan.requires_validation))


def test_optional_lesson_without_validation_awaits_nothing_from_a_reviewer():
    plan = AttemptPlan("record_only", required=False, requires_validation=False)
    assert not plan.awaits_decision and not plan.creates_review_task


@pytest.mark.parametrize("bad", ["", "PASS", "approve", "passed", "maybe"])
def test_decision_refused_for_unknown_values(bad):
    assert "pass" in decision_refusal(bad, ready=True, previous=None)


def test_decision_refused_while_not_ready_with_the_reason():
    assert decision_refusal("pass", ready=False, previous=None, audit_pending_reason="auditing") == "auditing"
    assert decision_refusal("fail", ready=False, previous=None) is not None


@pytest.mark.parametrize("decision", DECISIONS)
def test_the_same_decision_twice_is_harmless(decision):
    assert decision_refusal(decision, ready=True, previous=None) is None
    assert decision_refusal(decision, ready=True, previous=decision) is None


@pytest.mark.parametrize(("first", "second"), [("pass", "fail"), ("fail", "pass")])
def test_a_changed_result_goes_through_course_progress_not_the_task(first, second):
    refusal = decision_refusal(second, ready=True, previous=first)
    assert refusal and "course progress" in refusal


@pytest.mark.parametrize(
    ("decision", "exam_passed", "expected_success"),
    [
        ("pass", True, True),
        ("pass", None, True),
        ("pass", False, False),
        ("fail", True, False),
        ("fail", False, False),
        ("fail", None, False),
        (None, True, True),
        (None, False, False),
    ],
)
def test_passing_completes_the_lesson_failing_completes_it_as_failed(decision, exam_passed, expected_success):
    outcome = lesson_outcome(decision, exam_passed, 80.0)
    assert outcome.success is expected_success
    assert outcome.score == 80.0


def lessons(*states: tuple[str, bool, bool, bool | None, float | None]) -> list[LessonState]:
    return [LessonState(i, req, done, ok, score) for i, req, done, ok, score in states]


NO_SCORE = CourseRules(score_lesson_id=None, complete_on_failure=False, certificate=True)


def test_course_completes_when_the_proctored_lesson_was_the_last_required_lesson():
    outcome = course_outcome(
        NO_SCORE, lessons(("intro", True, True, True, None), ("exam", True, True, True, 90)), "exam"
    )
    assert outcome.complete and outcome.success


def test_course_does_not_complete_while_another_required_lesson_is_open():
    outcome = course_outcome(
        NO_SCORE, lessons(("intro", True, False, None, None), ("exam", True, True, True, 90)), "exam"
    )
    assert not outcome.complete and "intro" in outcome.reason


def test_optional_lessons_do_not_hold_back_or_complete_the_course():
    state = lessons(
        ("extra", False, False, None, None), ("exam", True, True, True, 90), ("prac", False, True, True, 50)
    )
    assert course_outcome(NO_SCORE, state, "exam").complete
    assert not course_outcome(NO_SCORE, state, "prac").complete


def test_use_lesson_score_as_course_score():
    rules = CourseRules(score_lesson_id="exam", complete_on_failure=False, certificate=True)
    outcome = course_outcome(
        rules, lessons(("intro", True, True, True, None), ("exam", True, True, True, 72.5)), "exam"
    )
    assert outcome.complete and outcome.score == 72.5 and outcome.success


@pytest.mark.parametrize(
    ("score_lesson", "complete_on_failure", "completes"),
    [("exam", True, True), ("exam", False, False), (None, True, False), (None, False, False)],
)
def test_failing_completes_the_course_only_with_lesson_score_and_complete_on_failure(
    score_lesson, complete_on_failure, completes
):
    rules = CourseRules(
        score_lesson_id=score_lesson, complete_on_failure=complete_on_failure, certificate=True
    )
    outcome = course_outcome(
        rules, lessons(("intro", True, True, True, None), ("exam", True, True, False, 30)), "exam"
    )
    assert outcome.complete is completes
    assert outcome.success is False
    assert not issues_certificate(rules, outcome)


@pytest.mark.parametrize("certificate", [True, False])
def test_a_completed_course_can_issue_a_certificate(certificate):
    rules = CourseRules(score_lesson_id=None, complete_on_failure=False, certificate=certificate)
    outcome = course_outcome(rules, lessons(("exam", True, True, True, 99)), "exam")
    assert issues_certificate(rules, outcome) is certificate
