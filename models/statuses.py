"""The one home of the attempt state machine and the review task's states."""

from __future__ import annotations

from enum import StrEnum


class AttemptStatus(StrEnum):
    CREATED = "created"  # stored; the workflow is starting
    AWAITING_SETUP = "awaiting_setup"  # ProctorFree session exists; learner has not started
    IN_PROGRESS = "in_progress"  # learner confirmed and started the proctored session
    FINISHED = "finished"  # learner pressed FINISH (or practice hit its 20 minutes)
    AWAITING_AUDIT = "awaiting_audit"  # full method: ProctorFree is auditing the recording
    READY_FOR_REVIEW = "ready_for_review"  # a reviewer can pass or fail it
    PASSED = "passed"
    FAILED = "failed"
    COMPLETED = "completed"  # every completion the rules call for has run
    EXPIRED = "expired"  # never finished within the window, or cancelled by ops; vendor session closed
    ERROR = "error"  # parked: ProctorFree refused the credentials; resumable
    VOIDED = "voided"  # staff voided it (`void`, or `reset` to let the learner take it again)


class StepEvent(StrEnum):
    """The names of the steps in an attempt's event log (the workflow writes them, the store
    keeps them, the reviewer's timeline tells them)."""

    OPENED = "opened"  # the LMS opened the lesson: the attempt is stored
    EXAM_RESULT = "exam_result"  # the LMS's quiz result, as the workflow took it in
    VENDOR_SESSION_CREATED = "vendor_session_created"
    LEARNER_STARTED = "learner_started"
    LEARNER_FINISHED = "learner_finished"
    AWAITING_AUDIT = "awaiting_audit"
    AUDIT = "audit"  # ProctorFree's audit landed, or was escalated at its deadline
    READY_FOR_REVIEW = "ready_for_review"
    DECIDED = "decided"
    LESSON_COMPLETED = "lesson_completed"
    COMPLETION_CONFIRMED = "completion_confirmed"  # a decision after the exam result completed it
    COMPLETED = "completed"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    ABANDONED = "abandoned"  # its workflow run ended without finishing the story (terminated, ...)
    PARKED = "parked"
    RESUMED = "resumed"
    EXAM_RESULT_MISSING = "exam_result_missing"
    EXAM_RESULT_IGNORED = "exam_result_ignored"
    DECISION_IGNORED = "decision_ignored"
    TIME_EXTENDED = "time_extended"  # staff added minutes to the running session
    STAFF_ACTION = "staff_action"  # staff resumed it or asked ProctorFree now (with why)
    VOIDED = "voided"  # staff voided (or reset) it: detail says which, who and why
    SESSION_NOT_CLOSED = "session_not_closed"  # ProctorFree did not close a voided attempt's session
    CLAIMED = "claimed"  # a reviewer holds the task (detail: reviewer, by: who assigned it)
    RELEASED = "released"  # the claim ended (detail: reviewer, why: released / timed out / reassigned)
    REVIEWED = "reviewed"  # one reviewer's verdict on a task that needs two (second review)
    ESCALATED = "escalated"  # overdue, or the two reviewers disagreed (detail: why): the contact is told


class ReviewState(StrEnum):
    NOT_READY = "not_ready"
    READY_FOR_REVIEW = "ready_for_review"
    PASSED = "passed"
    FAILED = "failed"
    CLOSED = "closed"  # no decision will come: the attempt was cancelled or abandoned


S = AttemptStatus

# What each status may move to. `error` is reachable from every open status, and an attempt
# leaves `error` back to where it was when the credentials are fixed.
_NEXT: dict[AttemptStatus, frozenset[AttemptStatus]] = {
    S.CREATED: frozenset({S.AWAITING_SETUP, S.EXPIRED}),
    S.AWAITING_SETUP: frozenset({S.IN_PROGRESS, S.FINISHED, S.EXPIRED}),
    S.IN_PROGRESS: frozenset({S.FINISHED, S.EXPIRED}),
    S.FINISHED: frozenset({S.AWAITING_AUDIT, S.READY_FOR_REVIEW, S.PASSED, S.FAILED, S.COMPLETED, S.EXPIRED}),
    S.AWAITING_AUDIT: frozenset({S.READY_FOR_REVIEW, S.EXPIRED}),
    S.READY_FOR_REVIEW: frozenset({S.PASSED, S.FAILED, S.EXPIRED}),
    S.PASSED: frozenset({S.COMPLETED}),
    S.FAILED: frozenset({S.COMPLETED}),
    S.COMPLETED: frozenset(),
    S.EXPIRED: frozenset(),
    S.ERROR: frozenset(),
    S.VOIDED: frozenset(),
}

TERMINAL: frozenset[AttemptStatus] = frozenset({S.COMPLETED, S.EXPIRED, S.VOIDED})
DECIDED: frozenset[AttemptStatus] = frozenset({S.PASSED, S.FAILED, S.COMPLETED})
# The learner is done with it: a retake may start while the review still runs.
LEARNER_DONE: frozenset[AttemptStatus] = frozenset(
    {S.FINISHED, S.AWAITING_AUDIT, S.READY_FOR_REVIEW, S.PASSED, S.FAILED, S.COMPLETED, S.EXPIRED, S.VOIDED}
)


def can_move(current: AttemptStatus, new: AttemptStatus, resumed_from: AttemptStatus | None = None) -> bool:
    """Whether an attempt may go from `current` to `new`.

    A completed (terminal) status never goes back. Staff may void any attempt that is not void
    already, completed and expired ones too (its record stays; the voided status says it no
    longer counts). From `error` an attempt returns only to the status it was parked from
    (`resumed_from`), or anything that status could move to.
    """
    if current == new:
        return True
    if new == S.VOIDED:
        return True
    if current in TERMINAL:
        return False
    if new == S.ERROR:
        return True
    if current == S.ERROR:
        return resumed_from is not None and (new == resumed_from or can_move(resumed_from, new))
    return new in _NEXT[current]
