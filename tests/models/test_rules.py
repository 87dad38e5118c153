"""The rules that decide, checked exhaustively. Each test names the source article's rule."""

from __future__ import annotations

import itertools

import pytest

from models.rules import (
    AUDIT_PENDING,
    DECISION_OR_COMPLETION_STEPS,
    DECISIONS,
    METHOD_TRAITS,
    METHODS,
    NO_DECISION_TAKEN,
    NOT_COMPLETED,
    NOT_FINISHED,
    PRACTICE_TIME_LIMIT,
    RESET_CANNOT_UNDO,
    AttemptPlan,
    CourseCompletion,
    CourseOutcome,
    CourseRules,
    LessonState,
    already_decided,
    certificate_change,
    completed_course,
    course_outcome,
    course_standing,
    decided_again,
    decided_review_state,
    decided_status,
    decision_for,
    decision_of,
    decision_refusal,
    issues_certificate,
    lesson_outcome,
    not_ready_reason,
    proctoring_refusal,
    proctoring_result,
    reevaluated_course,
    reset_refusal,
    review_state_after,
    settings_warnings,
    time_limit,
)
from models.statuses import DECIDED, AttemptStatus, ReviewState, StepEvent, can_move

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


# --- Decisions ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "required", "requires_validation", "finished", "audited"),
    list(itertools.product(METHODS, [True, False], [True, False], [True, False], [True, False])),
)
def test_an_attempt_is_ready_for_a_decision_once_finished_and_for_full_proctoring_audited(
    method, required, requires_validation, finished, audited
):
    """ "Tasks are only created for lessons that are required"; requires validation: "an admin
    can review the proctoring results ... and manually complete the course"; "Skilljar creates
    proctoring review tasks when the learner finishes the exam"; "Not Ready: ... a task that
    hasn't been fully audited yet ... applicable if you selected 'Full Proctoring'"."""
    reason = not_ready_reason(AttemptPlan(method, required, requires_validation), finished, audited)

    if not (required or requires_validation):
        assert reason == NO_DECISION_TAKEN  # nobody passes or fails an optional, unvalidated lesson
    elif not finished:
        assert reason == NOT_FINISHED
    elif method == "full" and not audited:
        assert reason == AUDIT_PENDING
    else:
        assert reason is None


def test_the_not_ready_reasons_say_why_in_the_articles_words():
    """ "we notify the user that the proctoring session is not yet ready for review. ProctorFree
    audits fully proctored sessions usually within 24 hours"."""
    assert AUDIT_PENDING.startswith("not ready") and "24 hours" in AUDIT_PENDING
    assert "ProctorFree" in AUDIT_PENDING and "audit" in AUDIT_PENDING
    assert NOT_FINISHED.startswith("not ready") and "finished" in NOT_FINISHED
    assert "optional" in NO_DECISION_TAKEN and "validation" in NO_DECISION_TAKEN
    assert len({AUDIT_PENDING, NOT_FINISHED, NO_DECISION_TAKEN}) == 3


BAD_DECISIONS = ["", "PASS", "approve", "passed", "failed", "maybe"]
PREVIOUS = [None, *DECISIONS]
NOT_READY = [None, NOT_FINISHED, AUDIT_PENDING, NO_DECISION_TAKEN]


@pytest.mark.parametrize(
    ("decision", "previous", "not_ready"),
    list(itertools.product([*DECISIONS, *BAD_DECISIONS], PREVIOUS, NOT_READY)),
)
def test_a_decision_is_refused_for_unknown_values_a_changed_result_and_while_not_ready(
    decision, previous, not_ready
):
    """ "Pass Proctoring" / "Fail Proctoring" are the two decisions; "Not Ready: ... not yet
    ready for review"; "Passed / Failed: ... If you need to change a learner's proctoring
    result, please use the displayed link to go to the course progress page"."""
    refusal = decision_refusal(decision, previous, not_ready)

    if decision not in DECISIONS:
        assert refusal == f"decision must be 'pass' or 'fail', not {decision!r}"
    elif previous is None:
        assert refusal == not_ready  # undecided: accepted exactly when ready
    elif decision == previous:
        assert refusal is None  # the same decision twice is harmless
    else:
        assert refusal == already_decided(previous)


@pytest.mark.parametrize(("previous", "done"), [("pass", "passed"), ("fail", "failed")])
def test_a_changed_result_goes_through_course_progress_not_the_task(previous, done):
    """ "If you need to change a learner's proctoring result, please use the displayed link to go
    to the course progress page"."""
    assert already_decided(previous) == (
        f"already {done}: change the proctoring result from the learner's course progress instead"
    )
    assert decided_again(previous) == f"already {done}; nothing changed"


@pytest.mark.parametrize(
    ("decision", "result", "status", "state"),
    [
        ("pass", "passed", AttemptStatus.PASSED, ReviewState.PASSED),
        ("fail", "failed", AttemptStatus.FAILED, ReviewState.FAILED),
    ],
)
def test_pass_marks_the_session_passed_and_fail_failed_and_completes_the_task(
    decision, result, status, state
):
    """ "Click 'Pass Proctoring' to mark the proctoring session as passed", "'Fail Proctoring' to
    mark the proctoring session as failed"; "Passing or failing the proctoring session will also
    mark the task as completed"."""
    assert proctoring_result(decision) == result
    assert decided_status(decision) is status
    assert decided_review_state(decision) is state
    assert decision_of(state) == decision
    assert decision_for(result) == decision
    assert status in DECIDED and can_move(AttemptStatus.READY_FOR_REVIEW, status)
    assert can_move(status, AttemptStatus.COMPLETED)


@pytest.mark.parametrize("state", [ReviewState.NOT_READY, ReviewState.READY_FOR_REVIEW])
def test_an_open_task_holds_no_decision(state):
    """ "You can identify which tasks are open using the 'Task completed at' column": not ready
    and ready for review are open, passed and failed are completed."""
    assert decision_of(state) is None


def test_every_review_state_is_open_or_holds_exactly_one_decision():
    held = {state: decision_of(state) for state in ReviewState}
    assert sorted(d for d in held.values() if d is not None) == sorted(DECISIONS)
    assert {decided_review_state(d) for d in DECISIONS} == {s for s, d in held.items() if d is not None}


@pytest.mark.parametrize("result", ["pass", "Passed", "", "excellent"])
def test_only_passed_and_failed_are_proctoring_results(result):
    with pytest.raises(KeyError):
        decision_for(result)


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


@pytest.mark.parametrize(
    ("certificate", "complete", "success"),
    list(itertools.product([True, False], [True, False], [True, False])),
)
def test_a_certificate_or_badge_comes_only_from_a_course_completed_successfully(
    certificate, complete, success
):
    """ "ensure that the exam was the last required lesson to complete the course. This could
    trigger a certificate or badge to be created"; a course completed on failure issues none."""
    rules = CourseRules(score_lesson_id="exam", complete_on_failure=True, certificate=certificate)
    outcome = CourseOutcome(complete=complete, success=success, score=50.0)
    assert issues_certificate(rules, outcome) is (certificate and complete and success)


# --- What the stored course completion becomes ------------------------------------------------

PASSED_COURSE = CourseCompletion(complete=True, success=True, score=90.0)
FAILED_COURSE = CourseCompletion(complete=True, success=False, score=30.0)
STORED = [NOT_COMPLETED, PASSED_COURSE, FAILED_COURSE]

COMPLETES = CourseOutcome(complete=True, success=True, score=80.0, reason="all required lessons complete")
COMPLETES_FAILED = CourseOutcome(complete=True, success=False, score=20.0, reason="completed on failure")
FAILS_OPEN = CourseOutcome(complete=False, success=False, score=25.0, reason="failed, and ...")
UNJUDGED = CourseOutcome(complete=False, reason="an optional lesson does not complete the course")
OUTCOMES = [COMPLETES, COMPLETES_FAILED, FAILS_OPEN, UNJUDGED]


def as_completion(outcome: CourseOutcome) -> CourseCompletion:
    return CourseCompletion(complete=True, success=outcome.success, score=outcome.score)


@pytest.mark.parametrize(("stored", "outcome"), list(itertools.product(STORED, OUTCOMES)))
def test_a_lesson_completes_the_course_once_and_a_completed_course_is_never_un_completed(stored, outcome):
    """ "This will also complete the course if the proctored lesson was the last required lesson
    to complete"; a completion is idempotent: a completed course keeps its first completion."""
    after = completed_course(stored, outcome)

    if stored.complete:
        assert after == stored
    elif outcome.complete:
        assert after == as_completion(outcome)
    else:
        assert after == NOT_COMPLETED


@pytest.mark.parametrize(("stored", "standing"), list(itertools.product(STORED, OUTCOMES)))
def test_a_reevaluated_course_is_what_the_rules_say_of_the_lessons_as_they_stand(stored, standing):
    """The source: "you need to manually change the course completion, success status, and
    score"; here a re-evaluation, asked for explicitly, does it: a course that qualifies completes
    or takes the new success and score, one that no longer qualifies is un-completed."""
    after = reevaluated_course(stored, standing)

    assert after == (as_completion(standing) if standing.complete else NOT_COMPLETED)


def test_a_passed_course_failed_on_reevaluation_is_un_completed_unless_it_completes_on_failure():
    assert reevaluated_course(PASSED_COURSE, FAILS_OPEN) == NOT_COMPLETED
    assert reevaluated_course(PASSED_COURSE, COMPLETES_FAILED) == CourseCompletion(True, False, 20.0)


@pytest.mark.parametrize("certifies", [True, False])
@pytest.mark.parametrize("standing", OUTCOMES)
@pytest.mark.parametrize("held", [True, False])
def test_a_reevaluation_issues_a_certificate_earned_and_revokes_one_no_longer_earned(
    certifies, standing, held
):
    rules = CourseRules(score_lesson_id="final", complete_on_failure=True, certificate=certifies)
    earned = certifies and standing.complete and bool(standing.success)

    change = certificate_change(rules, standing, held)

    assert change == ("issue" if earned and not held else "revoke" if held and not earned else None)


@pytest.mark.parametrize("lesson_id", ["intro", "final"])
def test_the_courses_standing_does_not_depend_on_which_lesson_changed(lesson_id):
    """An optional lesson never completes a course, but a re-evaluation after its result changed
    judges the course as it stands."""
    rules = CourseRules(score_lesson_id=None, complete_on_failure=False, certificate=True)
    lessons = [
        LessonState("intro", required=False, completed=True, success=True),
        LessonState("final", required=True, completed=True, success=True, score=90.0),
    ]
    assert course_standing(rules, lessons).complete
    assert course_outcome(rules, lessons, lesson_id).complete == (lesson_id == "final")


def test_a_course_without_a_required_lesson_never_stands_complete():
    rules = CourseRules(score_lesson_id=None, complete_on_failure=False, certificate=True)
    lessons = [LessonState("intro", required=False, completed=True, success=True)]
    assert not course_standing(rules, lessons).complete


# --- A newer run of an attempt's workflow (issue 20, case 6) ---------------------------------

E = StepEvent
# The steps that decide what the review task is; every other step leaves it as it is.
TASK_STEPS = (E.LEARNER_FINISHED, E.AUDIT, E.DECIDED, E.CANCELLED, E.ABANDONED, E.EXPIRED)
OTHER_STEPS = tuple(step for step in StepEvent if step not in TASK_STEPS)
EVERY_TASK_STORY = [
    set(chosen) for n in range(len(TASK_STEPS) + 1) for chosen in itertools.combinations(TASK_STEPS, n)
]
CASES = list(itertools.product(METHODS, [True, False], range(len(EVERY_TASK_STORY)), [None, *DECISIONS]))


def remaining(story: int, decision: str | None) -> list[str]:
    steps = EVERY_TASK_STORY[story]
    return [*OTHER_STEPS, *steps] if decision is None else [*steps, *OTHER_STEPS]


@pytest.mark.parametrize(("method", "required", "story", "decision"), CASES)
def test_the_review_task_a_rewound_story_implies(method, required, story, decision):
    """ "Tasks are only created for lessons that are required", once the learner finished; a
    full-method task is "Not Ready" until ProctorFree's audit, the others are ready at FINISH;
    a decision completes it; an attempt that ended without one closes it. The other steps
    (in any order around them) change nothing."""
    steps = EVERY_TASK_STORY[story]
    implied = review_state_after(method, required, remaining(story, decision), decision)

    if not required or E.LEARNER_FINISHED not in steps:
        assert implied is None
    elif E.DECIDED in steps and decision is not None:
        assert implied == decided_review_state(decision)
    elif steps & {E.CANCELLED, E.ABANDONED, E.EXPIRED}:
        assert implied == ReviewState.CLOSED
    elif method == "full" and E.AUDIT not in steps:
        assert implied == ReviewState.NOT_READY
    else:
        assert implied == ReviewState.READY_FOR_REVIEW


@pytest.mark.parametrize("plan", [plan for plan in ALL_PLANS if plan.creates_review_task])
def test_a_task_rewound_to_just_after_finish_is_in_its_initial_state(plan):
    """What the workflow writes at FINISH is what a rewind to FINISH implies."""
    story = [E.OPENED, E.VENDOR_SESSION_CREATED, E.LEARNER_STARTED, E.LEARNER_FINISHED]
    assert review_state_after(plan.method, plan.required, story) == plan.initial_review_state


def test_a_decision_or_a_completion_is_never_rewound_by_a_reset():
    decided_or_ended = {E.DECIDED, E.LESSON_COMPLETED, E.COMPLETION_CONFIRMED, E.COMPLETED, E.EXPIRED}
    assert decided_or_ended | {E.CANCELLED, E.ABANDONED} == DECISION_OR_COMPLETION_STEPS
    refusal = reset_refusal("a1", "completed")
    assert refusal.startswith("attempt a1 was completed by an earlier run of its workflow")
    assert "change the proctoring result from the learner's course progress" in refusal
    assert "course progress" in RESET_CANNOT_UNDO
