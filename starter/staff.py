"""Staff actions on one attempt (`reset`, `void`, `resume`, `check_now`) and extra time on a
running session (`extend`), as the API, the reviewer UI and the CLI send them.

A running attempt takes them as Updates of its workflow (`workflows/staff_actions.py`), whose
validators refuse what cannot apply, with the reason (409). An attempt whose run has ended
(completed, expired) is voided or reset in the database, with a step written by staff; it takes
nothing else. An attempt open in the database whose run has closed is reconciled first."""

from __future__ import annotations

import asyncio

from temporalio.client import Client

from models.payloads import ExtendReply, ExtendRequest, StaffActionReply, StaffActionRequest, voided_message
from models.statuses import TERMINAL, AttemptStatus
from models.tables import Attempt, utcnow
from proctorflow.errors import Conflict
from starter.reconcile import reconcile
from starter.updates import WorkflowClosed, send_update
from store import scoped, staff
from store.db import SessionFactory, transaction
from workflows.attempt import AttemptWorkflow


async def act(
    client: Client, sessions: SessionFactory, org_id: str, attempt_id: str, request: StaffActionRequest
) -> StaffActionReply:
    attempt = await asyncio.to_thread(_attempt, sessions, org_id, attempt_id)
    if AttemptStatus(attempt.status) not in TERMINAL:
        try:
            return await send_update(
                client, attempt.workflow_id, AttemptWorkflow.act, request, StaffActionReply
            )
        except WorkflowClosed:
            await reconcile(client, sessions, attempt.id)  # its run closed: the database learns how
    return await asyncio.to_thread(_act_on_ended, sessions, org_id, attempt_id, request)


async def extend(
    client: Client, sessions: SessionFactory, org_id: str, attempt_id: str, request: ExtendRequest
) -> ExtendReply:
    attempt = await asyncio.to_thread(_attempt, sessions, org_id, attempt_id)
    if AttemptStatus(attempt.status) in TERMINAL:
        raise Conflict(f"the attempt is {attempt.status}: the learner is not in the session")
    try:
        return await send_update(client, attempt.workflow_id, AttemptWorkflow.extend, request, ExtendReply)
    except WorkflowClosed as closed:
        raise Conflict("the attempt's workflow has closed: the learner is not in the session") from closed


def _act_on_ended(
    sessions: SessionFactory, org_id: str, attempt_id: str, request: StaffActionRequest
) -> StaffActionReply:
    with transaction(sessions) as session:
        attempt = scoped.attempt(session, org_id, attempt_id)
        session.refresh(attempt, with_for_update=True)
        if request.action not in staff.VOIDING:
            raise Conflict(
                f"the attempt is {attempt.status}: it waits for nothing to {request.action.replace('_', ' ')}"
            )
        if not staff.void_ended_attempt(
            session, attempt, request.action, request.reason, request.by, utcnow()
        ):
            raise Conflict(f"the attempt is {attempt.status} already")
        message = voided_message(request.action)
        return StaffActionReply(action=request.action, status=AttemptStatus.VOIDED, message=message)


def _attempt(sessions: SessionFactory, org_id: str, attempt_id: str) -> Attempt:
    with sessions() as session:
        return scoped.attempt(session, org_id, attempt_id)
