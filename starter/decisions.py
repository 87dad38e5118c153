"""A reviewer's pass or fail, as the API and the reviewer UI both send it.

The decision goes to the attempt's workflow as an Update, so the reply says what happened. A
task whose workflow has closed answers from the database: the same decision again is
harmless; a different one points at the course progress page.
"""

from __future__ import annotations

import asyncio

from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode

from models.payloads import DecisionReply, DecisionRequest
from models.statuses import AttemptStatus, ReviewState
from models.tables import Attempt, ReviewTask
from proctorflow.errors import Conflict, NotFound
from store.db import SessionFactory
from workflows.attempt import AttemptWorkflow

DECIDED_STATES = {ReviewState.PASSED: "pass", ReviewState.FAILED: "fail"}


async def decide_task(
    client: Client, sessions: SessionFactory, org_id: str, task_id: str, decision: str, reviewer: str
) -> DecisionReply:
    task, attempt = await asyncio.to_thread(_task_and_attempt, sessions, org_id, task_id)
    if task.state == ReviewState.NOT_READY:
        raise Conflict(
            "not ready: ProctorFree has not finished auditing this session (usually within 24 hours)",
            {"state": task.state},
        )
    previous = DECIDED_STATES.get(ReviewState(task.state))
    if previous is not None and AttemptStatus(attempt.status) == AttemptStatus.COMPLETED:
        return _answer_closed(previous, decision, attempt)
    return await decide_attempt(client, attempt, decision, reviewer)


# A signal (a vendor webhook) landing while the Update's workflow task completes fails that task
# ("UnhandledCommand") and the server aborts the not-yet-accepted Update with FAILED_PRECONDITION.
# Nothing was accepted, and the same decision twice is harmless: ask again.
UPDATE_TRIES = 3


async def decide_attempt(client: Client, attempt: Attempt, decision: str, reviewer: str) -> DecisionReply:
    for try_number in range(1, UPDATE_TRIES):
        try:
            return await _update(client, attempt, decision, reviewer)
        except RPCError as error:
            if error.status != RPCStatusCode.FAILED_PRECONDITION:
                raise
            await asyncio.sleep(0.2 * try_number)
    return await _update(client, attempt, decision, reviewer)


async def _update(client: Client, attempt: Attempt, decision: str, reviewer: str) -> DecisionReply:
    handle = client.get_workflow_handle(attempt.workflow_id)
    try:
        return await handle.execute_update(
            AttemptWorkflow.decide,
            DecisionRequest(decision=decision, reviewer=reviewer),
            result_type=DecisionReply,
        )
    except WorkflowUpdateFailedError as refused:
        cause = refused.cause
        raise Conflict(getattr(cause, "message", None) or str(cause)) from refused
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            raise Conflict(
                "this attempt's workflow has closed: change the result from course progress"
            ) from error
        raise


def _answer_closed(previous: str, decision: str, attempt: Attempt) -> DecisionReply:
    done = "passed" if previous == "pass" else "failed"
    if decision != previous:
        raise Conflict(
            f"already {done}: change the proctoring result from the learner's course progress instead",
            {"state": done},
        )
    return DecisionReply(
        accepted=False,
        decision=previous,
        status=AttemptStatus(attempt.status),
        message=f"already {done}; nothing changed",
    )


def _task_and_attempt(sessions: SessionFactory, org_id: str, task_id: str) -> tuple[ReviewTask, Attempt]:
    with sessions() as session:
        task = session.get(ReviewTask, task_id)
        if task is None or task.org_id != org_id:
            raise NotFound(f"review task {task_id} does not exist")
        attempt = session.get(Attempt, task.attempt_id)
        assert attempt is not None, "a review task always has its attempt"
        return task, attempt
