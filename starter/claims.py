"""Claiming review tasks, as the API and the reviewer UI both ask: claim, release, assign.

Each goes to the attempt's workflow as an Update (`workflows/review_ops.py`), so two reviewers
claiming at once are answered one by one: one holds the task, the other is refused (409) with
who does. The claim lasts the organisation's `claim_timeout_minutes`; the workflow releases it
then unless the task was decided."""

from __future__ import annotations

import asyncio
from typing import Literal

from temporalio.client import Client

from models.review_ops import ClaimReply, ClaimRequest
from proctorflow.errors import Conflict
from starter.updates import WorkflowClosed, send_update
from store import queries, settings
from store.db import SessionFactory
from workflows.attempt import AttemptWorkflow

ClaimAction = Literal["claim", "release", "assign"]
UPDATES = {
    "claim": AttemptWorkflow.claim,
    "release": AttemptWorkflow.release,
    "assign": AttemptWorkflow.assign,
}


async def change_claim(
    client: Client,
    sessions: SessionFactory,
    org_id: str,
    task_id: str,
    action: ClaimAction,
    reviewer: str,
    by: str | None = None,
) -> ClaimReply:
    workflow_id, state, timeout = await asyncio.to_thread(_task_and_timeout, sessions, org_id, task_id)
    request = ClaimRequest(reviewer=reviewer, by=by or reviewer, timeout_minutes=timeout)
    try:
        return await send_update(client, workflow_id, UPDATES[action], request, ClaimReply)
    except WorkflowClosed as closed:
        raise Conflict(f"the task is {state}: only a task ready for review can be claimed") from closed


def _task_and_timeout(sessions: SessionFactory, org_id: str, task_id: str) -> tuple[str, str, int]:
    with sessions() as session:
        row = queries.get_review_task(session, org_id, task_id)  # 404 for another organisation's
        timeout = settings.read(session, org_id).claim_timeout_minutes
        return row.attempt.workflow_id, row.task.state, timeout
