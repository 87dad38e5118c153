"""The attempt's own records: status, event log and review task. Every write is idempotent."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from enum import Enum

from sqlmodel import Session, col, delete, select

from models.payloads import (
    CompletionReport,
    DecisionRequest,
    DecisionStep,
    ReviewTaskChange,
    StatusChange,
    StepBatch,
)
from models.review_ops import ReviewOps
from models.rules import (
    DECISION_OR_COMPLETION_STEPS,
    decision_of,
    reset_refusal,
    review_state_after,
)
from models.statuses import TERMINAL, AttemptStatus, ReviewState, StepEvent, can_move
from models.tables import (
    Attempt,
    AttemptEvent,
    CourseProgress,
    LessonProgress,
    ReviewTask,
)
from store import events, notices, staff
from store.progress import complete_attempt, holds_certificate


class IllegalTransition(Exception):
    pass


class ResetRefused(Exception):
    """A newer run of an attempt's workflow would rewind a decision or a completion."""


class Written(Enum):
    APPLIED = "applied"
    REPEATED = "repeated"  # the same step, written again by a retry
    IGNORED = "ignored"  # a late write that lost: a lost workflow task's, or a superseded run's


def record_change(session: Session, change: StatusChange) -> bool:
    """Apply one step of the workflow; False when this step (by seq) was already recorded, or
    is a late write that is ignored."""
    return _record(session, change) == Written.APPLIED


def _record(session: Session, change: StatusChange) -> Written:
    attempt = _locked_attempt(session, change.attempt_id)
    if not _admitted(session, attempt, change):
        return Written.IGNORED
    recorded = session.exec(
        select(AttemptEvent).where(
            AttemptEvent.attempt_id == change.attempt_id, AttemptEvent.seq == change.seq
        )
    ).first()
    if recorded is not None:
        if (recorded.event, recorded.status) == (change.event, change.status):
            return Written.REPEATED
        if recorded.run_id == change.run_id and _written_earlier(change, recorded):
            return Written.IGNORED  # a late write from a workflow task that was lost: the later run stands
        _rewind(session, attempt, change.seq)
    _apply(session, attempt, change)
    return Written.APPLIED


def record_steps(session: Session, batch: StepBatch) -> None:
    """The workflow's steps since it last waited; each part idempotent, as each is alone. A
    superseded run's late batch writes nothing."""
    if batch.changes:
        first = batch.changes[0]
        write = _step_writer(session, first.attempt_id, [c.seq for c in batch.changes], first.run_id)
        if write(first) == Written.IGNORED:
            return
        for change in batch.changes[1:]:
            write(change)
    for review in batch.reviews:
        upsert_review_task(session, review)


def record_decision(session: Session, step: DecisionStep) -> CompletionReport:
    """The decision's whole step (see `DecisionStep`); every part idempotent, as each is alone.
    A decision written late by a run that lost (superseded, or its attempt abandoned) writes
    nothing: the report says what is stored."""
    write = _step_writer(
        session, step.decided.attempt_id, [c.seq for c in (step.decided, *step.reported)], step.decided.run_id
    )
    decided = write(step.decided)
    if decided == Written.IGNORED:
        return _stored_report(session, step)
    if decided == Written.REPEATED:
        # A retry, or a run taking the same decision again (its workflow task was lost with the
        # worker): what the first write reported stands; the course may have moved on since.
        reported = _reported_at(session, step.reported[0])
        if reported is not None:
            return reported
    if step.review is not None:
        upsert_review_task(session, step.review)
    report = complete_attempt(session, step.completion)
    for change in step.reported:
        write(change.model_copy(update={"detail": {**change.detail, **report.model_dump()}}))
    return report


def _step_writer(
    session: Session, attempt_id: str, seqs: list[int], run_id: str | None
) -> Callable[[StatusChange], Written]:
    """How to write the steps under `seqs`: straight onto the attempt when none of them was
    written before and the run writing them owns the attempt (the usual case: one read, one
    write at commit), else one by one through `_record`, which recognises a retry, the writes
    of a lost workflow task, and a newer or superseded run of the workflow."""
    attempt = _locked_attempt(session, attempt_id)
    written = session.exec(
        select(AttemptEvent.seq)
        .where(AttemptEvent.attempt_id == attempt_id, col(AttemptEvent.seq).in_(seqs))
        .limit(1)
    ).first()
    owner = run_id is None or attempt.run_id in (None, run_id)
    if written is None and owner and not _abandoned(session, attempt):

        def apply(change: StatusChange) -> Written:
            _apply(session, attempt, change)
            return Written.APPLIED

        return apply
    return lambda change: _record(session, change)


def _locked_attempt(session: Session, attempt_id: str) -> Attempt:
    attempt = session.get(Attempt, attempt_id, with_for_update=True)
    if attempt is None:
        raise LookupError(f"attempt {attempt_id} is not stored")
    return attempt


def _apply(session: Session, attempt: Attempt, change: StatusChange) -> None:
    if change.status is not None:
        previous = attempt.status
        _move(attempt, AttemptStatus(change.status), change.error_reason)
        events.tell_status(session, attempt, previous, change.at)
    if change.vendor is not None:
        attempt.vendor_session_id = change.vendor.session_id
        attempt.setup_url = change.vendor.setup_url
        attempt.review_url = change.vendor.review_url
    if change.event == StepEvent.EXAM_RESULT and attempt.exam_passed is None:
        # The first result wins: the LMS's API stores it before signalling, so this one is
        # usually the same; a different one later is the workflow's `exam_result_ignored`.
        attempt.exam_score = change.detail.get("score")
        attempt.exam_passed = change.detail.get("passed")
    staff.apply_step(session, attempt, change.event, change.detail, change.at)
    notices.on_step(session, attempt, change.event, change.detail, change.seq, change.at)
    if attempt.run_id is None and change.run_id is not None:
        attempt.run_id = change.run_id  # the first run that writes owns the story
    attempt.last_seq = max(attempt.last_seq, change.seq)
    attempt.updated_at = change.at
    session.add(attempt)
    session.add(
        AttemptEvent(
            attempt_id=attempt.id,
            seq=change.seq,
            history_length=change.history_length,
            run_id=change.run_id,
            at=change.at,
            event=change.event,
            status=change.status,
            detail=change.detail,
        )
    )


def _admitted(session: Session, attempt: Attempt, change: StatusChange) -> bool:
    """Whether a run may write `change` at all; a newer run takes over the attempt here.

    An attempt's story belongs to one run of its workflow (`attempt.run_id`). A step from
    another run is either a superseded run's late write (that run wrote steps already: ignored)
    or a newer run's first (ops reset the workflow to an earlier point; Temporal ended the old
    run). The newer run owns the attempt from its step on: the superseded run's steps from there
    are rewound, and the review task with them; unless that would undo a decision or a
    completion (`ResetRefused`). An attempt abandoned by ops (its run ended) takes no run's
    write: a local activity of a terminated run may still finish its write."""
    if change.run_id is None:
        return True
    if attempt.run_id is not None and change.run_id != attempt.run_id:
        if change.run_id in (attempt.superseded_runs or []) or _run_wrote(session, attempt.id, change.run_id):
            return False
        _take_over(session, attempt, change)
        return True
    return not _abandoned(session, attempt)


def _take_over(session: Session, attempt: Attempt, change: StatusChange) -> None:
    undone = session.exec(
        select(AttemptEvent.event).where(
            AttemptEvent.attempt_id == attempt.id,
            AttemptEvent.seq >= change.seq,
            col(AttemptEvent.event).in_([step.value for step in DECISION_OR_COMPLETION_STEPS]),
        )
    ).first()
    if undone is not None or AttemptStatus(attempt.status) in TERMINAL:
        raise ResetRefused(reset_refusal(attempt.id, attempt.status))
    attempt.superseded_runs = [*(attempt.superseded_runs or []), attempt.run_id]
    attempt.run_id = change.run_id
    _rewind(session, attempt, change.seq)
    _rewind_review_task(session, attempt)


def _run_wrote(session: Session, attempt_id: str, run_id: str) -> bool:
    return (
        session.exec(
            select(AttemptEvent.id)
            .where(AttemptEvent.attempt_id == attempt_id, AttemptEvent.run_id == run_id)
            .limit(1)
        ).first()
        is not None
    )


def _abandoned(session: Session, attempt: Attempt) -> bool:
    if attempt.status != AttemptStatus.EXPIRED:
        return False
    return (
        session.exec(
            select(AttemptEvent.id)
            .where(AttemptEvent.attempt_id == attempt.id, AttemptEvent.event == StepEvent.ABANDONED)
            .limit(1)
        ).first()
        is not None
    )


def _rewind_review_task(session: Session, attempt: Attempt) -> None:
    """The review task, a write not keyed by step number, becomes what the remaining steps
    imply (`rules.review_state_after`); no task when they imply none."""
    remaining = session.exec(
        select(AttemptEvent).where(AttemptEvent.attempt_id == attempt.id).order_by(col(AttemptEvent.seq))
    ).all()
    decided = next((e for e in reversed(remaining) if e.event == StepEvent.DECIDED), None)
    decision = (decided.detail or {}).get("decision") if decided is not None else None
    implied = review_state_after(
        attempt.method,  # type: ignore[arg-type]
        attempt.required,
        [e.event for e in remaining],
        decision,
    )
    task = session.exec(select(ReviewTask).where(ReviewTask.attempt_id == attempt.id)).first()
    if implied is None:
        if task is not None:
            session.delete(task)
        return
    steps = {e.event: e for e in remaining}
    previous = task.state if task is not None else None
    if task is None:
        task = _new_task(attempt, implied, steps[StepEvent.LEARNER_FINISHED].at)
    task.state = implied
    events.tell_review_task(session, task, previous)
    audit = steps.get(StepEvent.AUDIT)
    if audit is None:
        task.flagged, task.audit_outcome = False, None
    if implied == ReviewState.NOT_READY:
        task.ready_at = None
    elif task.ready_at is None:
        task.ready_at = (audit or steps[StepEvent.LEARNER_FINISHED]).at
    if decision_of(implied) is None and implied != ReviewState.CLOSED:
        task.completed_at, task.decided_by = None, None
    session.add(task)


def _written_earlier(change: StatusChange, recorded: AttemptEvent) -> bool:
    """Whether `change` comes from an earlier workflow task than the step recorded under its seq:
    a shorter history, or the same length and an earlier workflow time. A workflow task retried
    after a timeout is not in the history until it completes, so each retry sees the same length:
    the chaos test once saw two tries take different branches (the reviewer's decision arrived
    between them) and the later one's steps ignored, its attempt stuck before `completed`. History
    lengths compare within one run only (the caller checks)."""
    return (change.history_length, change.at) <= (recorded.history_length, recorded.at)


def _rewind(session: Session, attempt: Attempt, seq: int) -> None:
    """Undo the steps written from `seq` on: by a lost workflow task, or by a run a newer one
    superseded.

    Local activities write before their workflow task is recorded; when that task is lost (a
    killed worker, a timed-out task), the replay re-runs from the last recorded task and, with
    messages now in a different place in the history, may take another branch. Its writes then
    meet the lost branch's under the same sequence numbers: the lost ones, written from a
    shorter history, give way; a lost one arriving late is ignored."""
    session.exec(delete(AttemptEvent).where(AttemptEvent.attempt_id == attempt.id, AttemptEvent.seq >= seq))
    attempt.last_seq = min(attempt.last_seq, seq - 1)
    statuses = [
        AttemptStatus(status)
        for status in session.exec(
            select(AttemptEvent.status)
            .where(
                AttemptEvent.attempt_id == attempt.id,
                AttemptEvent.seq < seq,
                AttemptEvent.status.is_not(None),
            )  # type: ignore[union-attr]
            .order_by(AttemptEvent.seq)
        )
    ]
    previous = attempt.status
    attempt.status = statuses[-1] if statuses else AttemptStatus.CREATED
    events.tell_status(session, attempt, previous)
    before_error = [status for status in statuses if status != AttemptStatus.ERROR]
    attempt.parked_from = before_error[-1] if attempt.status == AttemptStatus.ERROR and before_error else None
    session.flush()


def _move(attempt: Attempt, new: AttemptStatus, error_reason: str | None) -> None:
    current = AttemptStatus(attempt.status)
    resumed_from = AttemptStatus(attempt.parked_from) if attempt.parked_from else None
    if not can_move(current, new, resumed_from):
        raise IllegalTransition(f"attempt {attempt.id}: {current} cannot move to {new}")
    if new == AttemptStatus.ERROR and current != AttemptStatus.ERROR:
        attempt.parked_from = current
        attempt.error_reason = error_reason
    elif new != AttemptStatus.ERROR:
        attempt.parked_from = None
        attempt.error_reason = None
    attempt.status = new


_PROGRESS = {
    ReviewState.NOT_READY: 0,
    ReviewState.READY_FOR_REVIEW: 1,
    ReviewState.PASSED: 2,
    ReviewState.FAILED: 2,
    ReviewState.CLOSED: 2,
}
# A task in one of these is completed ("Task completed at"): nothing moves it again.
FINAL_REVIEW_STATES = frozenset({ReviewState.PASSED, ReviewState.FAILED, ReviewState.CLOSED})


def upsert_review_task(session: Session, change: ReviewTaskChange) -> ReviewTask:
    task = session.exec(select(ReviewTask).where(ReviewTask.attempt_id == change.attempt_id)).first()
    created = task is None
    if task is None:
        attempt = session.get(Attempt, change.attempt_id)
        if attempt is None:
            raise LookupError(f"attempt {change.attempt_id} is not stored")
        task = _new_task(attempt, ReviewState.NOT_READY, change.at)  # moves to change.state below
    state, current = ReviewState(change.state), ReviewState(task.state)
    if state == ReviewState.READY_FOR_REVIEW and task.ready_at is None:
        task.ready_at = change.at
    # A task only moves forward: a write replayed late (a retried workflow task re-runs its
    # local activities) never turns a ready task back to not_ready or reopens a completed one,
    # and a completed one (passed, failed, closed) never turns into another.
    if current not in FINAL_REVIEW_STATES and _PROGRESS[state] >= _PROGRESS[current]:
        task.state = state
        events.tell_review_task(session, task, None if created else current, change.at)
        if state in FINAL_REVIEW_STATES:
            task.completed_at = change.at
            task.decided_by = change.decided_by if state != ReviewState.CLOSED else None
    task.flagged = task.flagged or change.flagged
    task.audit_outcome = change.audit_outcome or task.audit_outcome
    if change.ops is not None:
        _apply_ops(session, task, change.ops, change.at)
    session.add(task)
    return task


def _apply_ops(session: Session, task: ReviewTask, ops: ReviewOps, at: datetime) -> None:
    """The workflow's claims, deadline, priority and reviews; the LMS is told of an escalation."""
    escalated_now = ops.escalated_at is not None and ops.escalated_at != task.escalated_at
    task.assignee, task.claimed_at, task.claim_expires_at = ops.assignee, ops.claimed_at, ops.claim_expires_at
    task.due_at, task.priority, task.escalated_at = ops.due_at, ops.priority, ops.escalated_at
    task.reviews = [review.model_dump(mode="json") for review in ops.reviews] or None
    if escalated_now:
        events.tell_review_task_escalated(session, task, ops.escalations[-1], at)


def _new_task(attempt: Attempt, state: ReviewState, at: datetime) -> ReviewTask:
    return ReviewTask(
        id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"review-task:{attempt.id}")),
        org_id=attempt.org_id,
        attempt_id=attempt.id,
        course_id=attempt.course_id,
        lesson_id=attempt.lesson_id,
        learner_id=attempt.learner_id,
        method=attempt.method,
        state=state,
        created_at=at,
    )


def abandon(session: Session, attempt_id: str, reason: str, at: datetime) -> bool:
    """Ops end an attempt whose workflow run ended without finishing its story (terminated,
    timed out, failed, or deleted after the namespace's retention): a step `abandoned`, the
    attempt `expired`, its open review task closed. False when the attempt had ended already.

    Written by ops, not by a run (its run id is None): no run's later write undoes it."""
    attempt = _locked_attempt(session, attempt_id)
    if AttemptStatus(attempt.status) in TERMINAL:
        return False
    # Whatever the run was doing, it will do no more: the attempt ends here. (A decided attempt
    # is never left in `passed` or `failed`: its decision's write completes it in one transaction.)
    staff.write_staff_step(
        session, attempt, StepEvent.ABANDONED, AttemptStatus.EXPIRED, {"reason": reason}, at
    )
    task = session.exec(select(ReviewTask).where(ReviewTask.attempt_id == attempt.id)).first()
    if task is not None and ReviewState(task.state) not in FINAL_REVIEW_STATES:
        upsert_review_task(session, ReviewTaskChange(attempt_id=attempt.id, state=ReviewState.CLOSED, at=at))
    session.flush()
    return True


def stored_decision(session: Session, attempt_id: str) -> DecisionRequest | None:
    """The decision the attempt's story holds (its last `decided` step), as a reviewer sent it."""
    decided = session.exec(
        select(AttemptEvent)
        .where(AttemptEvent.attempt_id == attempt_id, AttemptEvent.event == StepEvent.DECIDED)
        .order_by(col(AttemptEvent.seq).desc())
    ).first()
    if decided is None:
        return None
    return DecisionRequest(decision=decided.detail["decision"], reviewer=decided.detail.get("by") or "ops")


def _reported_at(session: Session, change: StatusChange) -> CompletionReport | None:
    """The completion report a decision's write stored with its completion step, if written."""
    recorded = session.exec(
        select(AttemptEvent).where(
            AttemptEvent.attempt_id == change.attempt_id, AttemptEvent.seq == change.seq
        )
    ).first()
    if recorded is None or recorded.event != change.event:
        return None
    return CompletionReport.model_validate(recorded.detail)


def _stored_report(session: Session, step: DecisionStep) -> CompletionReport:
    """What the lesson and course completion stored say, for a decision's write that was ignored."""
    key = step.completion.key
    lesson = session.get(LessonProgress, (key.org_id, key.course_id, key.lesson_id, key.learner_id))
    course = session.get(CourseProgress, (key.org_id, key.course_id, key.learner_id))
    completed = bool(course and course.completed_at)
    return CompletionReport(
        lesson_success=bool(lesson and lesson.success),
        course_completed=completed,
        course_reason="as stored" if completed else "not completed",
        certificate_issued=holds_certificate(session, key.org_id, key.course_id, key.learner_id),
    )
