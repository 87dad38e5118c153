"""Messages from the LMS and from ProctorFree to an attempt's workflow.

Each is stored first where the database must know it, then signalled; signalling the same
message twice is harmless, since the workflow ignores what it already knows.
"""

from __future__ import annotations

import asyncio

from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from models.api import ExamResultIn
from models.payloads import AuditReport, ExamResult
from models.statuses import AttemptStatus
from models.tables import Attempt
from proctorflow.errors import Conflict, NotFound
from proctorfree.webhooks import WebhookEvent
from starter.reconcile import abandon_reason, reconcile
from store import scoped
from store.db import SessionFactory, transaction
from workflows.attempt import AttemptWorkflow


def get_attempt(sessions: SessionFactory, org_id: str, attempt_id: str) -> Attempt:
    with sessions() as session:
        return scoped.attempt(session, org_id, attempt_id)


EXPIRED_BEFORE_RESULT = "this attempt expired before the learner finished: the result cannot complete it"
COMPLETED_WITHOUT_RESULT = (
    "this attempt completed without an exam result: none arrived within the exam-result window after "
    "FINISH; change the lesson's result from the learner's course progress"
)
DIFFERENT_RESULT = "this attempt already has a different exam result: a retake is a new attempt number"


async def record_exam_result(
    client: Client, sessions: SessionFactory, org_id: str, attempt_id: str, result: ExamResultIn
) -> Attempt:
    """The quiz result: kept on the attempt (the first one wins), then sent to its workflow.

    Whether it can still count is decided in the same transaction, with the attempt locked,
    before anything is stored: an expired attempt, a completed one that has no result (it
    completed without one) or a different result is refused (409, nothing stored); the same
    result again is answered as the first was, and a completed attempt's workflow is not
    signalled. A result is never accepted and then dropped."""

    def store() -> Attempt:
        with transaction(sessions) as session:
            scoped.attempt(session, org_id, attempt_id)
            attempt = session.get(Attempt, attempt_id, with_for_update=True, populate_existing=True)
            assert attempt is not None
            status, stored = AttemptStatus(attempt.status), attempt.exam_passed is not None
            if status == AttemptStatus.EXPIRED:
                raise Conflict(EXPIRED_BEFORE_RESULT)
            if stored and (attempt.exam_score, attempt.exam_passed) != (result.score, result.passed):
                raise Conflict(DIFFERENT_RESULT, {"score": attempt.exam_score, "passed": attempt.exam_passed})
            if status == AttemptStatus.COMPLETED and not stored:
                raise Conflict(COMPLETED_WITHOUT_RESULT)
            if not stored:
                attempt.exam_score, attempt.exam_passed = result.score, result.passed
                session.add(attempt)
            return attempt

    attempt = await asyncio.to_thread(store)
    if AttemptStatus(attempt.status) == AttemptStatus.COMPLETED:
        return attempt  # the same result again: the workflow has nothing left to learn
    delivered = await _signal(
        client, attempt, AttemptWorkflow.exam_result, ExamResult(score=result.score, passed=result.passed)
    )
    if not delivered:
        # Its workflow has closed while the database holds the attempt open: reconciled, the
        # attempt ends and the result cannot complete it.
        reconciled = await reconcile(client, sessions, attempt.id)
        if AttemptStatus(reconciled.status) == AttemptStatus.EXPIRED:
            raise Conflict(
                f"this attempt ended before the result could complete it: {abandon_reason(reconciled.run)}",
                {"status": reconciled.status},
            )
    return attempt


async def deliver_vendor_event(client: Client, sessions: SessionFactory, event: WebhookEvent) -> Attempt:
    """A verified ProctorFree webhook, turned into the signal it stands for."""

    def find() -> Attempt:
        with sessions() as session:
            attempt = session.get(Attempt, event.external_id)
            if attempt is None or (attempt.vendor_session_id not in (None, event.session_id)):
                raise NotFound(f"no attempt has ProctorFree session {event.session_id}")
            return attempt

    attempt = await asyncio.to_thread(find)
    # Start and FINISH carry ProctorFree's time of them: the audit's deadline counts from FINISH
    # itself, however late the message reaches the workflow.
    if event.type == "session.started":
        await _signal(client, attempt, AttemptWorkflow.learner_started, event.occurred_at)
    elif event.type == "session.finished":
        # Capped: ProctorFree ended the session at its time limit, not the learner's FINISH.
        finished = AttemptWorkflow.session_capped if event.capped else AttemptWorkflow.learner_finished
        await _signal(client, attempt, finished, event.occurred_at)
    elif event.type == "audit.completed":
        await _signal(
            client, attempt, AttemptWorkflow.audit_completed, AuditReport(outcome=event.outcome or "clean")
        )
    return attempt


async def _signal(client: Client, attempt: Attempt, signal, *args) -> bool:  # noqa: ANN001, ANN002
    """Signal the attempt's workflow; False when it has closed (it has nothing left to learn)."""
    handle = client.get_workflow_handle(attempt.workflow_id)
    try:
        await handle.signal(signal, args=list(args))
    except RPCError as error:
        # Anything but a closed workflow is worth a retry by the caller.
        if error.status != RPCStatusCode.NOT_FOUND:
            raise
        return False
    return True
