"""The attempt's own records: status, event log and review task. Every write is idempotent."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from sqlmodel import Session, col, delete, select

from models.payloads import CompletionReport, DecisionStep, ReviewTaskChange, StatusChange, StepBatch
from models.statuses import AttemptStatus, ReviewState, can_move
from models.tables import Attempt, AttemptEvent, Integration, Learner, Lesson, ReviewTask
from store.progress import complete_attempt


class IllegalTransition(Exception):
    pass


def record_change(session: Session, change: StatusChange) -> bool:
    """Apply one step of the workflow; False when this step (by seq) was already recorded."""
    attempt = _locked_attempt(session, change.attempt_id)
    recorded = session.exec(
        select(AttemptEvent).where(
            AttemptEvent.attempt_id == change.attempt_id, AttemptEvent.seq == change.seq
        )
    ).first()
    if recorded is not None:
        if (recorded.event, recorded.status) == (change.event, change.status):
            return False  # the same step, written again by a retry
        if _written_earlier(change, recorded):
            return False  # a late write from a workflow task that was lost: the later run stands
        _rewind(session, attempt, change.seq)
    _apply(session, attempt, change)
    return True


def record_steps(session: Session, batch: StepBatch) -> None:
    """The workflow's steps since it last waited; each part idempotent, as each is alone."""
    if batch.changes:
        write = _step_writer(session, batch.changes[0].attempt_id, [c.seq for c in batch.changes])
        for change in batch.changes:
            write(change)
    for review in batch.reviews:
        upsert_review_task(session, review)


def record_decision(session: Session, step: DecisionStep) -> CompletionReport:
    """The decision's whole step (see `DecisionStep`); every part idempotent, as each is alone."""
    write = _step_writer(session, step.decided.attempt_id, [c.seq for c in (step.decided, *step.reported)])
    write(step.decided)
    if step.review is not None:
        upsert_review_task(session, step.review)
    report = complete_attempt(session, step.completion)
    for change in step.reported:
        write(change.model_copy(update={"detail": {**change.detail, **report.model_dump()}}))
    return report


def _step_writer(session: Session, attempt_id: str, seqs: list[int]) -> Callable[[StatusChange], object]:
    """How to write the steps under `seqs`: straight onto the attempt when none of them was
    written before (the usual case: one read, one write at commit), else one by one through
    `record_change`, which recognises a retry and the writes of a lost workflow task."""
    attempt = _locked_attempt(session, attempt_id)
    written = session.exec(
        select(AttemptEvent.seq)
        .where(AttemptEvent.attempt_id == attempt_id, col(AttemptEvent.seq).in_(seqs))
        .limit(1)
    ).first()
    if written is None:
        return lambda change: _apply(session, attempt, change)
    return lambda change: record_change(session, change)


def _locked_attempt(session: Session, attempt_id: str) -> Attempt:
    attempt = session.get(Attempt, attempt_id, with_for_update=True)
    if attempt is None:
        raise LookupError(f"attempt {attempt_id} is not stored")
    return attempt


def _apply(session: Session, attempt: Attempt, change: StatusChange) -> None:
    if change.status is not None:
        _move(attempt, AttemptStatus(change.status), change.error_reason)
    if change.vendor is not None:
        attempt.vendor_session_id = change.vendor.session_id
        attempt.setup_url = change.vendor.setup_url
        attempt.review_url = change.vendor.review_url
    attempt.last_seq = max(attempt.last_seq, change.seq)
    attempt.updated_at = change.at
    session.add(attempt)
    session.add(
        AttemptEvent(
            attempt_id=attempt.id,
            seq=change.seq,
            history_length=change.history_length,
            at=change.at,
            event=change.event,
            status=change.status,
            detail=change.detail,
        )
    )


def _written_earlier(change: StatusChange, recorded: AttemptEvent) -> bool:
    """Whether `change` comes from an earlier workflow task than the step recorded under its seq:
    a shorter history, or the same length and an earlier workflow time. A workflow task retried
    after a timeout is not in the history until it completes, so each retry sees the same length:
    the chaos test once saw two tries take different branches (the reviewer's decision arrived
    between them) and the later one's steps ignored, its attempt stuck before `completed`."""
    return (change.history_length, change.at) <= (recorded.history_length, recorded.at)


def _rewind(session: Session, attempt: Attempt, seq: int) -> None:
    """Undo the steps a lost workflow task wrote from `seq` on.

    Local activities write before their workflow task is recorded; when that task is lost (a
    killed worker, a timed-out task), the replay re-runs from the last recorded task and, with
    messages now in a different place in the history, may take another branch. Its writes then
    meet the lost branch's under the same sequence numbers: the lost ones, written from a
    shorter history, give way; a lost one arriving late is ignored."""
    session.exec(delete(AttemptEvent).where(AttemptEvent.attempt_id == attempt.id, AttemptEvent.seq >= seq))
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
    attempt.status = statuses[-1] if statuses else AttemptStatus.CREATED
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
}


def upsert_review_task(session: Session, change: ReviewTaskChange) -> ReviewTask:
    task = session.exec(select(ReviewTask).where(ReviewTask.attempt_id == change.attempt_id)).first()
    if task is None:
        attempt = session.get(Attempt, change.attempt_id)
        if attempt is None:
            raise LookupError(f"attempt {change.attempt_id} is not stored")
        task = ReviewTask(
            id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"review-task:{attempt.id}")),
            org_id=attempt.org_id,
            attempt_id=attempt.id,
            course_id=attempt.course_id,
            lesson_id=attempt.lesson_id,
            learner_id=attempt.learner_id,
            method=attempt.method,
            state=change.state,
            created_at=change.at,
        )
    state = ReviewState(change.state)
    if state == ReviewState.READY_FOR_REVIEW and task.ready_at is None:
        task.ready_at = change.at
    if state in (ReviewState.PASSED, ReviewState.FAILED):
        task.completed_at = task.completed_at or change.at
        task.decided_by = change.decided_by
    # A task only moves forward: a write replayed late (a retried workflow task re-runs its
    # local activities) never turns a ready task back to not_ready or reopens a decided one.
    if _PROGRESS[state] >= _PROGRESS[ReviewState(task.state)]:
        task.state = state
    task.flagged = task.flagged or change.flagged
    task.audit_outcome = change.audit_outcome or task.audit_outcome
    session.add(task)
    return task


@dataclass(frozen=True)
class VendorContext:
    """What a vendor call needs; personal data and sealed secrets, never sent to a workflow."""

    lesson_title: str
    method: str
    learner_name: str
    learner_email: str
    sealed_api_key: str
    sealed_api_secret: str
    return_url_path: str


def vendor_context(session: Session, attempt_id: str) -> VendorContext:
    attempt = session.get(Attempt, attempt_id)
    if attempt is None:
        raise LookupError(f"attempt {attempt_id} is not stored")
    lesson = session.get(Lesson, (attempt.org_id, attempt.course_id, attempt.lesson_id))
    learner = session.get(Learner, (attempt.org_id, attempt.learner_id))
    integration = session.get(Integration, attempt.integration_id)
    if lesson is None or learner is None or integration is None:
        raise LookupError(f"attempt {attempt_id}: lesson, learner or integration is missing")
    return VendorContext(
        lesson_title=lesson.title,
        method=attempt.method,
        learner_name=learner.name,
        learner_email=learner.email,
        sealed_api_key=integration.api_key_encrypted,
        sealed_api_secret=integration.api_secret_encrypted,
        return_url_path=f"/learn/attempts/{attempt.id}/exam",
    )
