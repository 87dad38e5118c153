"""What ops do to attempts that wait too long: find them, ask ProctorFree now, resume the
ones parked on refused credentials, or cancel one for good.

Everything here acts through the attempt's workflow (a signal or a cancel), never on the
database behind its back: the workflow stays the one writer of an attempt's story. The one
exception is an attempt whose workflow has closed without ending it: no run is left to write,
so reconciling it (`starter.reconcile`) writes its last step, `abandoned`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from sqlmodel import col, select
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode

from models.payloads import workflow_id_for
from models.statuses import TERMINAL, AttemptStatus
from models.tables import Attempt
from proctorflow.errors import Invalid, NotFound
from starter.reconcile import Reconciled, latest_run, reconcile
from store.db import SessionFactory
from workflows.attempt import AttemptWorkflow

DESCRIBE_CONCURRENCY = 8


@dataclass(frozen=True)
class StuckAttempt:
    """An open attempt that has not moved for a while, with what ops need to act on it."""

    attempt_id: str
    org_id: str
    course_id: str
    lesson_id: str
    learner_id: str
    attempt_number: int
    method: str
    status: str
    error_reason: str | None
    updated_at: datetime
    workflow_id: str = ""
    # How its workflow's latest run ended ("was terminated", ...) when it has closed: the attempt
    # is open in the database only, and `proctorflow reconcile` closes it. None: running, or not asked.
    workflow_ended: str | None = None

    def idle_for(self, now: datetime) -> timedelta:
        return now - self.updated_at


def stuck_attempts(
    sessions: SessionFactory,
    older_than: timedelta,
    status: str | None = None,
    now: datetime | None = None,
) -> list[StuckAttempt]:
    """Open attempts (not completed, not expired) whose last step is older than `older_than`,
    the longest-waiting first; only those in `status` when one is given."""
    wanted = _open_statuses(status)
    cutoff = (now or datetime.now(UTC)) - older_than
    with sessions() as session:
        rows = session.exec(
            select(Attempt)
            .where(col(Attempt.status).in_(wanted), Attempt.updated_at < cutoff)
            .order_by(col(Attempt.updated_at))
        ).all()
    return [_stuck(row) for row in rows]


async def mark_closed_workflows(client: Client, found: list[StuckAttempt]) -> list[StuckAttempt]:
    """The same attempts, those whose workflow has closed marked with how it ended."""
    gate = asyncio.Semaphore(DESCRIBE_CONCURRENCY)

    async def mark(attempt: StuckAttempt) -> StuckAttempt:
        async with gate:
            run = await latest_run(client, attempt.workflow_id)
        return replace(attempt, workflow_ended=run.ending) if run.closed else attempt

    return list(await asyncio.gather(*(mark(attempt) for attempt in found)))


async def check_now(client: Client, attempt_id: str) -> None:
    """Ask ProctorFree now (has the learner finished? is the audit done?), not at the next poll."""
    await _signal(client, attempt_id, AttemptWorkflow.check_vendor_now)


async def resume(client: Client, attempt_id: str) -> None:
    """Retry the vendor call an attempt parked on: for after the credentials were rotated.
    Harmless on an attempt that is not parked: it forgets the request at its next park."""
    await _signal(client, attempt_id, AttemptWorkflow.resume)


async def cancel(client: Client, sessions: SessionFactory, attempt_id: str) -> Reconciled | None:
    """End an attempt for good: its workflow closes the ProctorFree session and ends `expired`.

    An attempt still open in the database whose workflow has closed (terminated in Temporal Web,
    timed out, deleted after retention) is reconciled instead: abandoned, its review task closed
    (returned: what was done). None when the cancel went to the running workflow."""
    handle = _handle(client, attempt_id)
    try:
        # Temporal accepts a cancel request for a closed workflow without a word: ask first.
        running = (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
        if running:
            await handle.cancel()
            return None
    except RPCError as error:
        if error.status != RPCStatusCode.NOT_FOUND:
            raise
    try:
        reconciled = await reconcile(client, sessions, attempt_id)
    except NotFound:
        raise NotFound(
            f"attempt {attempt_id} does not exist (`proctorflow stuck` lists the open ones)"
        ) from None
    if reconciled.action == "abandoned":
        return reconciled
    raise NotFound(f"attempt {attempt_id} has no running workflow: it is over already")


# --- Helpers --------------------------------------------------------------------------------


def _open_statuses(status: str | None) -> list[str]:
    open_ones = [s.value for s in AttemptStatus if s not in TERMINAL]
    if status is None:
        return open_ones
    if status not in {s.value for s in AttemptStatus}:
        raise Invalid(f"unknown status {status!r}: use one of {', '.join(open_ones)}")
    if status not in open_ones:
        raise Invalid(f"{status} attempts are over, never stuck: use one of {', '.join(open_ones)}")
    return [status]


def _stuck(row: Attempt) -> StuckAttempt:
    return StuckAttempt(
        attempt_id=row.id,
        org_id=row.org_id,
        course_id=row.course_id,
        lesson_id=row.lesson_id,
        learner_id=row.learner_id,
        attempt_number=row.attempt_number,
        method=row.method,
        status=row.status,
        error_reason=row.error_reason,
        updated_at=row.updated_at,
        workflow_id=row.workflow_id,
    )


def _handle(client: Client, attempt_id: str) -> WorkflowHandle:
    return client.get_workflow_handle(workflow_id_for(attempt_id))


async def _signal(client: Client, attempt_id: str, signal) -> None:  # noqa: ANN001
    try:
        await _handle(client, attempt_id).signal(signal)
    except RPCError as error:
        raise _not_running(attempt_id, error) from error


def _not_running(attempt_id: str, error: RPCError) -> Exception:
    if error.status == RPCStatusCode.NOT_FOUND:
        return NotFound(
            f"attempt {attempt_id} has no running workflow: it is over already, or the id is wrong "
            "(`proctorflow stuck` lists the open ones)"
        )
    return error
