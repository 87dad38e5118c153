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
from store import scoped
from store.db import SessionFactory, transaction
from workflows.attempt import AttemptWorkflow


def get_attempt(sessions: SessionFactory, org_id: str, attempt_id: str) -> Attempt:
    with sessions() as session:
        return scoped.attempt(session, org_id, attempt_id)


async def record_exam_result(
    client: Client, sessions: SessionFactory, org_id: str, attempt_id: str, result: ExamResultIn
) -> Attempt:
    """The quiz result: kept on the attempt (the first one wins), then sent to its workflow."""

    def store() -> Attempt:
        with transaction(sessions) as session:
            attempt = scoped.attempt(session, org_id, attempt_id)
            if attempt.exam_passed is None:
                attempt.exam_score, attempt.exam_passed = result.score, result.passed
                session.add(attempt)
            elif (attempt.exam_score, attempt.exam_passed) != (result.score, result.passed):
                raise Conflict(
                    "this attempt already has a different exam result: a retake is a new attempt number",
                    {"score": attempt.exam_score, "passed": attempt.exam_passed},
                )
            return attempt

    attempt = await asyncio.to_thread(store)
    if AttemptStatus(attempt.status) == AttemptStatus.EXPIRED:
        raise Conflict("this attempt expired before the learner finished: the result cannot complete it")
    await _signal(
        client, attempt, AttemptWorkflow.exam_result, ExamResult(score=result.score, passed=result.passed)
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
    if event.type == "session.started":
        await _signal(client, attempt, AttemptWorkflow.learner_started)
    elif event.type == "session.finished":
        await _signal(client, attempt, AttemptWorkflow.learner_finished)
    elif event.type == "audit.completed":
        await _signal(
            client, attempt, AttemptWorkflow.audit_completed, AuditReport(outcome=event.outcome or "clean")
        )
    return attempt


async def _signal(client: Client, attempt: Attempt, signal, arg=None) -> None:  # noqa: ANN001
    handle = client.get_workflow_handle(attempt.workflow_id)
    try:
        if arg is None:
            await handle.signal(signal)
        else:
            await handle.signal(signal, arg)
    except RPCError as error:
        # A closed workflow has nothing left to learn; anything else is worth a retry by the caller.
        if error.status != RPCStatusCode.NOT_FOUND:
            raise
