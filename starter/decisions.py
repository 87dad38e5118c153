"""A reviewer's pass or fail, as the API and the reviewer UI both send it.

The decision goes to the attempt's workflow as an Update, so the reply says what happened. A
task whose workflow has closed answers from the database: the same decision again is
harmless; a different one points at the course progress page. A task closed without a decision
(its attempt was cancelled or abandoned) takes none; an attempt whose workflow closed without
ending it is reconciled (abandoned) and the decision refused with the reason.
"""

from __future__ import annotations

import asyncio

from temporalio.client import Client

from models import rules
from models.payloads import DecisionReply, DecisionRequest
from models.statuses import AttemptStatus, ReviewState
from models.tables import Attempt
from proctorflow.errors import Conflict
from starter.reconcile import abandon_reason, reconcile
from starter.updates import WorkflowClosed, send_update
from store import audit, queries
from store.db import SessionFactory, transaction
from workflows.attempt import AttemptWorkflow


async def decide_task(
    client: Client,
    sessions: SessionFactory,
    org_id: str,
    task_id: str,
    decision: str,
    reviewer: str,
    source: str = "api",
) -> DecisionReply:
    """The decision, then its entry in the organisation's audit log (a refusal leaves none)."""
    reply = await _decide_task(client, sessions, org_id, task_id, decision, reviewer)
    if reply.accepted:
        await asyncio.to_thread(_audit, sessions, org_id, task_id, reviewer, decision, source)
    return reply


def _audit(
    sessions: SessionFactory, org_id: str, task_id: str, reviewer: str, decision: str, source: str
) -> None:
    with transaction(sessions) as session:
        audit.record(
            session,
            org_id,
            reviewer,
            "reviewer",
            "review_task.decided",
            task_id,
            source,
            {"decision": decision},
        )


async def _decide_task(
    client: Client, sessions: SessionFactory, org_id: str, task_id: str, decision: str, reviewer: str
) -> DecisionReply:
    row = await asyncio.to_thread(_task_row, sessions, org_id, task_id)
    task, attempt = row.task, row.attempt
    state = ReviewState(task.state)
    if state == ReviewState.CLOSED:
        raise Conflict(rules.TASK_CLOSED, {"state": task.state})
    if state == ReviewState.NOT_READY:  # only a full-method task waits, and only for the audit
        raise Conflict(rules.AUDIT_PENDING, {"state": task.state})
    previous = rules.decision_of(state)
    if previous is not None and AttemptStatus(attempt.status) == AttemptStatus.COMPLETED:
        if decision != previous:
            return _answer_closed(previous, decision, attempt)
        # The same decision again still goes to a running workflow: the database can be ahead
        # of the run's history (the decision was written by a workflow task that was then lost
        # with its worker, so the Update that brought it is gone and the run waits for it).
        # The run takes it and writes the same steps again (idempotent); a closed run cannot.
        try:
            return await _update_until_accepted(client, attempt, decision, reviewer)
        except WorkflowClosed:
            return _answer_closed(previous, decision, attempt)
    return await decide_attempt(client, sessions, attempt, decision, reviewer)


async def decide_attempt(
    client: Client, sessions: SessionFactory, attempt: Attempt, decision: str, reviewer: str
) -> DecisionReply:
    try:
        return await _update_until_accepted(client, attempt, decision, reviewer)
    except WorkflowClosed as closed:
        raise await _closed_refusal(client, sessions, attempt) from closed


async def _update_until_accepted(
    client: Client, attempt: Attempt, decision: str, reviewer: str
) -> DecisionReply:
    request = DecisionRequest(decision=decision, reviewer=reviewer)
    return await send_update(client, attempt.workflow_id, AttemptWorkflow.decide, request, DecisionReply)


async def _closed_refusal(client: Client, sessions: SessionFactory, attempt: Attempt) -> Conflict:
    """Why a decision cannot go to a workflow that has closed: its attempt is reconciled first."""
    reconciled = await reconcile(client, sessions, attempt.id)
    if reconciled.action == "abandoned":
        return Conflict(
            f"this attempt's workflow has closed: {abandon_reason(reconciled.run)}; the attempt was "
            "abandoned and its review task closed without a decision",
            {"status": reconciled.status},
        )
    return Conflict(
        "this attempt's workflow has closed: change the result from course progress",
        {"status": reconciled.status},
    )


def _answer_closed(previous: rules.Decision, decision: str, attempt: Attempt) -> DecisionReply:
    """The decision on a task whose workflow is over, answered by the same rule it would apply."""
    refusal = rules.decision_refusal(decision, previous, not_ready=None)
    if refusal is not None:
        raise Conflict(refusal, {"state": rules.proctoring_result(previous)})
    return DecisionReply(
        accepted=False,
        decision=previous,
        status=AttemptStatus(attempt.status),
        message=rules.decided_again(previous),
    )


def _task_row(sessions: SessionFactory, org_id: str, task_id: str) -> queries.TaskRow:
    with sessions() as session:
        return queries.get_review_task(session, org_id, task_id)
