"""The rules that decide, from the source article, as pure functions: no I/O, no clocks.

Who completes what, when a review task exists and is ready, what a proctoring method implies.
The workflow, the API and the reviewer UI all ask these; the tests check them exhaustively.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from models.statuses import ReviewState

Method = Literal["full", "record_only", "practice"]
Decision = Literal["pass", "fail"]
METHODS: tuple[Method, ...] = ("full", "record_only", "practice")
DECISIONS: tuple[Decision, ...] = ("pass", "fail")

# "Proctoring can be added to any lesson type except for Live Training lessons and Examity lessons."
UNPROCTORABLE_LESSON_TYPES = frozenset({"live_training", "examity"})

# "The practice exams are limited to 20 minutes."
PRACTICE_TIME_LIMIT = timedelta(minutes=20)


@dataclass(frozen=True)
class MethodTraits:
    recorded: bool
    audited: bool  # ProctorFree audits the recording, "usually within 24 hours"
    free: bool


METHOD_TRAITS: dict[Method, MethodTraits] = {
    "full": MethodTraits(recorded=True, audited=True, free=False),
    "record_only": MethodTraits(recorded=True, audited=False, free=False),
    "practice": MethodTraits(recorded=True, audited=False, free=True),
}


def time_limit(method: Method) -> timedelta | None:
    return PRACTICE_TIME_LIMIT if method == "practice" else None


# --- Settings -------------------------------------------------------------------------------


def proctoring_refusal(lesson_type: str, integration_active: bool) -> str | None:
    """Why proctoring cannot be put on this lesson, or None when it can."""
    if lesson_type in UNPROCTORABLE_LESSON_TYPES:
        return (
            f"lessons of type '{lesson_type}' cannot be proctored "
            "(live_training and examity lessons never are)"
        )
    if not integration_active:
        return "the integration is not active: activate it, or choose an active integration"
    return None


def settings_warnings(method: Method, required: bool, requires_validation: bool) -> list[str]:
    """Accepted-but-misconfigured settings: "Please define practice lessons as optional and do
    not require validation", else completion waits for a manual pass or fail."""
    if method != "practice":
        return []
    warnings = []
    if required:
        warnings.append(
            "practice lesson is required: a review task will be created and course completion "
            "will wait until a reviewer passes or fails each practice session; make it optional"
        )
    if requires_validation:
        warnings.append(
            "practice lesson requires validation: the lesson completes only when someone "
            "passes or fails each practice session; turn validation off"
        )
    return warnings


# --- The attempt's plan ---------------------------------------------------------------------


@dataclass(frozen=True)
class AttemptPlan:
    method: Method
    required: bool
    requires_validation: bool

    @property
    def creates_review_task(self) -> bool:
        """ "Tasks are only created for lessons that are required (not optional)."""
        return self.required

    @property
    def initial_review_state(self) -> ReviewState:
        """A full-method task waits for ProctorFree's audit; the others are ready at once."""
        return ReviewState.NOT_READY if METHOD_TRAITS[self.method].audited else ReviewState.READY_FOR_REVIEW

    @property
    def awaits_decision(self) -> bool:
        """Someone passes or fails it: through its review task, or (optional lessons that
        require validation) through the learner's course progress."""
        return self.creates_review_task or self.requires_validation

    @property
    def awaits_audit(self) -> bool:
        """The audit matters only to a decision: nobody reviews an unreviewed optional lesson."""
        return METHOD_TRAITS[self.method].audited and self.awaits_decision

    @property
    def completes_on_exam_result(self) -> bool:
        """Requires validation off: the lesson completes once the exam result is known."""
        return not self.requires_validation


# --- Decisions ------------------------------------------------------------------------------


def decision_refusal(
    decision: str, ready: bool, previous: Decision | None, audit_pending_reason: str | None = None
) -> str | None:
    """Why a reviewer's decision is refused, or None when it is accepted.

    The same decision twice is harmless (accepted, nothing changes). A different decision on a
    decided task is refused: the source changes a result from the course progress page.
    """
    if decision not in DECISIONS:
        return f"decision must be 'pass' or 'fail', not {decision!r}"
    if previous is not None and decision != previous:
        return (
            f"already decided: {previous}ed; change the proctoring result from the learner's "
            "course progress instead"
        )
    if previous is None and not ready:
        return audit_pending_reason or "the proctoring session is not ready for review yet"
    return None


# --- Completion -----------------------------------------------------------------------------


@dataclass(frozen=True)
class LessonOutcome:
    success: bool
    score: float | None


def lesson_outcome(
    decision: Decision | None, exam_passed: bool | None, exam_score: float | None
) -> LessonOutcome:
    """Passing completes the lesson; failing also completes it, as failed. Without a decision
    (requires validation off) the exam result decides. A passed proctoring over a failed exam
    is still a failed lesson."""
    if decision == "fail":
        return LessonOutcome(success=False, score=exam_score)
    if decision == "pass":
        return LessonOutcome(success=exam_passed is not False, score=exam_score)
    return LessonOutcome(success=bool(exam_passed), score=exam_score)


@dataclass(frozen=True)
class LessonState:
    lesson_id: str
    required: bool
    completed: bool
    success: bool | None = None
    score: float | None = None


@dataclass(frozen=True)
class CourseRules:
    score_lesson_id: str | None  # "use lesson score as course score": which lesson
    complete_on_failure: bool
    certificate: bool


@dataclass(frozen=True)
class CourseOutcome:
    complete: bool
    success: bool | None = None
    score: float | None = None
    reason: str = ""


def course_outcome(rules: CourseRules, lessons: list[LessonState], completed_lesson_id: str) -> CourseOutcome:
    """Whether completing `completed_lesson_id` completes the course.

    Only the last required lesson completes a course: an optional lesson never does. The course
    completes when every required lesson is complete. Success and score come from
    the score lesson when one is chosen, else success is every required lesson's. A failed
    course completes only when the course uses a lesson's score as its score and allows
    completion on failure ("If you use this lesson's score as the course score and you allow
    the course to be completed on failure, this will also complete the course").
    """
    required = [lesson for lesson in lessons if lesson.required]
    if completed_lesson_id not in {lesson.lesson_id for lesson in required}:
        return CourseOutcome(complete=False, reason="an optional lesson does not complete the course")
    missing = [lesson.lesson_id for lesson in required if not lesson.completed]
    if missing:
        return CourseOutcome(complete=False, reason=f"required lessons not complete: {', '.join(missing)}")
    by_id = {lesson.lesson_id: lesson for lesson in lessons}
    score_lesson = by_id.get(rules.score_lesson_id) if rules.score_lesson_id else None
    if score_lesson is not None:
        if not score_lesson.completed:
            return CourseOutcome(complete=False, reason=f"score lesson {score_lesson.lesson_id} not complete")
        success, score = bool(score_lesson.success), score_lesson.score
    else:
        success, score = all(lesson.success for lesson in required), None
    if success:
        return CourseOutcome(complete=True, success=True, score=score, reason="all required lessons complete")
    if score_lesson is not None and rules.complete_on_failure:
        return CourseOutcome(complete=True, success=False, score=score, reason="completed on failure")
    return CourseOutcome(
        complete=False,
        success=False,
        score=score,
        reason="failed, and the course does not complete on failure of its score lesson",
    )


def issues_certificate(rules: CourseRules, outcome: CourseOutcome) -> bool:
    """A course that completed successfully issues its certificate or badge, when it has one."""
    return rules.certificate and outcome.complete and bool(outcome.success)
