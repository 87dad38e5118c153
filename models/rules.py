"""The rules that decide, from the source article, as pure functions: no I/O, no clocks.

Who completes what, when a review task exists and is ready, what a proctoring method implies.
The workflow, the API and the reviewer UI all ask these; the tests check them exhaustively.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from models.statuses import AttemptStatus, ReviewState, StepEvent

Method = Literal["full", "record_only", "practice"]
Decision = Literal["pass", "fail"]
ProctoringResult = Literal["passed", "failed"]  # the course progress's proctoring column
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

# The reasons a decision is refused, in one wording whichever layer answers (the workflow, the
# API, the reviewer UI).
NO_DECISION_TAKEN = "this attempt takes no decision: the lesson is optional and needs no validation"
NOT_FINISHED = "not ready: the learner has not finished the proctored session"
AUDIT_PENDING = "not ready: ProctorFree has not finished auditing this session (usually within 24 hours)"
TASK_CLOSED = "this task was closed without a decision: its attempt ended (cancelled or abandoned)"


def already_decided(previous: Decision) -> str:
    return (
        f"already {proctoring_result(previous)}: change the proctoring result from the learner's "
        "course progress instead"
    )


def not_ready_reason(plan: AttemptPlan, finished: bool, audited: bool) -> str | None:
    """Why nobody can pass or fail this attempt yet, or None when a reviewer can.

    "Not Ready: ... the proctoring session is not yet ready for review": the learner has not
    pressed FINISH, or (full proctoring) ProctorFree has not finished its audit."""
    if not plan.awaits_decision:
        return NO_DECISION_TAKEN
    if not finished:
        return NOT_FINISHED
    if plan.awaits_audit and not audited:
        return AUDIT_PENDING
    return None


def decision_refusal(decision: str, previous: Decision | None, not_ready: str | None) -> str | None:
    """Why a reviewer's decision is refused, or None when it is accepted.

    The same decision twice is harmless (accepted, nothing changes). A different decision on a
    decided task is refused: the source changes a result from the course progress page.
    """
    if decision not in DECISIONS:
        return f"decision must be 'pass' or 'fail', not {decision!r}"
    if previous is not None and decision != previous:
        return already_decided(previous)
    if previous is None:
        return not_ready
    return None


def proctoring_result(decision: Decision) -> ProctoringResult:
    """ "Pass Proctoring" marks the session passed, "Fail Proctoring" failed."""
    return "passed" if decision == "pass" else "failed"


def decision_for(result: ProctoringResult) -> Decision:
    """The decision a proctoring result stands for: the inverse of `proctoring_result`, for a
    result set from the learner's course progress."""
    return _DECISION_FOR[result]


_DECISION_FOR: dict[str, Decision] = {"passed": "pass", "failed": "fail"}


def decided_again(decision: Decision) -> str:
    """The reply to the same decision twice: harmless, nothing changes."""
    return f"already {proctoring_result(decision)}; nothing changed"


def decided_status(decision: Decision) -> AttemptStatus:
    return AttemptStatus(proctoring_result(decision))


def decided_review_state(decision: Decision) -> ReviewState:
    """ "Passing or failing the proctoring session will also mark the task as completed." """
    return ReviewState(proctoring_result(decision))


def decision_of(state: ReviewState) -> Decision | None:
    """The decision a completed task holds, or None for a task still open."""
    return {ReviewState.PASSED: "pass", ReviewState.FAILED: "fail"}.get(state)  # type: ignore[return-value]


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
    is still a failed lesson. `exam_passed` is None only when no result arrived within its
    window (the workflow waits for it before completing): then a pass alone decides, as for a
    proctored lesson that has no quiz."""
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
    completes when every required lesson is complete (`course_standing`).
    """
    required = {lesson.lesson_id for lesson in lessons if lesson.required}
    if completed_lesson_id not in required:
        return CourseOutcome(complete=False, reason="an optional lesson does not complete the course")
    return course_standing(rules, lessons)


def course_standing(rules: CourseRules, lessons: list[LessonState]) -> CourseOutcome:
    """Whether the learner's lessons, as they stand, make the course complete, by its rules.

    Every required lesson must be complete. Success and score come from the score lesson when
    one is chosen, else success is every required lesson's. A failed course completes only when
    the course uses a lesson's score as its score and allows completion on failure ("If you use
    this lesson's score as the course score and you allow the course to be completed on failure,
    this will also complete the course").
    """
    required = [lesson for lesson in lessons if lesson.required]
    if not required:
        return CourseOutcome(complete=False, reason="the course has no required lesson")
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


@dataclass(frozen=True)
class CourseCompletion:
    """A learner's course completion as stored: complete or not, with its success and score."""

    complete: bool
    success: bool | None = None
    score: float | None = None


NOT_COMPLETED = CourseCompletion(complete=False)


def completed_course(stored: CourseCompletion, outcome: CourseOutcome) -> CourseCompletion:
    """What the stored course completion becomes when a lesson completes: an outcome that
    completes the course completes it, with the outcome's success and score. A course completes
    once: a completed course is never un-completed, and a later lesson changes nothing."""
    if stored.complete or not outcome.complete:
        return stored
    return CourseCompletion(complete=True, success=outcome.success, score=outcome.score)


def reevaluated_course(stored: CourseCompletion, standing: CourseOutcome) -> CourseCompletion:
    """What the stored course completion becomes when a changed proctoring result re-evaluates
    the course (the source leaves this to a person: "you need to manually change the course
    completion, success status, and score"): what the course's rules say of the lessons as they
    stand now (`course_standing`). A course that qualifies completes, or keeps its completion
    with the new success and score; one that no longer qualifies is un-completed. Only an
    explicit re-evaluation un-completes a course; a completion alone never does."""
    if not standing.complete:
        return NOT_COMPLETED
    return CourseCompletion(complete=True, success=standing.success, score=standing.score)


def certificate_change(rules: CourseRules, standing: CourseOutcome, held: bool) -> str | None:
    """On a re-evaluation: "issue" a certificate the course now earns and the learner does not
    hold, "revoke" one held that it no longer earns, else None."""
    earned = issues_certificate(rules, standing)
    if earned and not held:
        return "issue"
    if held and not earned:
        return "revoke"
    return None


# --- Runs of an attempt's workflow ----------------------------------------------------------

# The steps that decide or end an attempt. A newer run of its workflow (ops reset it to an
# earlier point) never rewinds them: a decision and a completion change only from the learner's
# course progress, where the change is kept in the audit trail.
DECISION_OR_COMPLETION_STEPS: frozenset[StepEvent] = frozenset(
    {
        StepEvent.DECIDED,
        StepEvent.LESSON_COMPLETED,
        StepEvent.COMPLETION_CONFIRMED,
        StepEvent.COMPLETED,
        StepEvent.EXPIRED,
        StepEvent.CANCELLED,
        StepEvent.ABANDONED,
    }
)
RESET_CANNOT_UNDO = (
    "a reset cannot undo a decision or a completion: change the proctoring result from the "
    "learner's course progress"
)
# The review task of an attempt that ends without a decision (cancelled, abandoned, expired).
_ENDS_WITHOUT_DECISION = frozenset({StepEvent.CANCELLED, StepEvent.ABANDONED, StepEvent.EXPIRED})


def reset_refusal(attempt_id: str, status: str) -> str:
    """Why a newer run of an attempt's workflow may not take over its story."""
    return (
        f"attempt {attempt_id} was {status} by an earlier run of its workflow: a reset cannot undo "
        "a decision or a completion; change the proctoring result from the learner's course progress"
    )


def review_state_after(
    method: Method, required: bool, remaining: Iterable[str], decision: Decision | None = None
) -> ReviewState | None:
    """The review task an attempt's recorded steps imply, or None for no task: what the task
    becomes when a newer run of the workflow rewinds the steps after `remaining`.

    A task exists for a required lesson once the learner finished ("Tasks are only created for
    lessons that are required"); a full-method task is not ready until ProctorFree's audit,
    the others are ready at FINISH. A remaining decision (`decision`, held by the `decided` step)
    completes it; an attempt that ended without one closes it."""
    steps = {StepEvent(step) for step in remaining}
    if not required or StepEvent.LEARNER_FINISHED not in steps:
        return None
    if StepEvent.DECIDED in steps and decision is not None:
        return decided_review_state(decision)
    if steps & _ENDS_WITHOUT_DECISION:
        return ReviewState.CLOSED
    if METHOD_TRAITS[method].audited and StepEvent.AUDIT not in steps:
        return ReviewState.NOT_READY
    return ReviewState.READY_FOR_REVIEW
