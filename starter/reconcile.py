"""Every attempt ends, in the database as in Temporal: runs that closed without finishing their
attempt's story are reconciled here.

An attempt's workflow writes its story; when the run ends some other way (ops terminated it in
Temporal Web, it timed out or failed, or its closed run was deleted after the namespace's
retention), the attempt would stay open in the database for good. Reconciling it writes the step
`abandoned` (the attempt ends `expired`, its review task closes). The other way round: an attempt
the database holds as ended whose workflow runs again under another run id (ops reset a
completed attempt's workflow) gets that run terminated, with the reason, since a reset cannot
undo a decision or a completion.

`open`, `cancel`, a decision on a closed workflow, `proctorflow stuck` and `proctorflow
reconcile` ask here.

One more way the two disagree: a decision the database holds (the attempt completed) that its
own run never took, because the workflow task that wrote it was lost with its worker and the
Update that brought it was lost with a Temporal restart. The run still waits for a decision;
reconciling sends it the stored one again as a signal (the run writes the same steps again,
which changes nothing; a run that had taken it ignores it).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from sqlmodel import col, select
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from models.payloads import DecisionRequest
from models.rules import RESET_CANNOT_UNDO
from models.statuses import TERMINAL, AttemptStatus
from models.tables import Attempt
from proctorflow.errors import NotFound
from store import records
from store.db import SessionFactory, transaction
from workflows.attempt import AttemptWorkflow

WORKFLOW_TYPE = "AttemptWorkflow"
RUNNING_ATTEMPTS = f"WorkflowType = '{WORKFLOW_TYPE}' AND ExecutionStatus = 'Running'"
CHUNK = 500  # ids per IN (...) query

S = WorkflowExecutionStatus
# How a run ended, in words ("its workflow was terminated"); a run gone from Temporal is "gone".
RUN_ENDINGS: dict[WorkflowExecutionStatus | str, str] = {
    S.TERMINATED: "was terminated",
    S.TIMED_OUT: "timed out",
    S.FAILED: "failed",
    S.CANCELED: "was canceled",
    S.COMPLETED: "completed",
    "gone": "is gone (deleted after the namespace's retention period)",
}
CLOSED = frozenset({S.COMPLETED, S.FAILED, S.CANCELED, S.TERMINATED, S.TIMED_OUT})


@dataclass(frozen=True)
class LatestRun:
    """The latest run of an attempt's workflow, as Temporal describes it."""

    run_id: str | None
    status: WorkflowExecutionStatus | None  # None: gone (never started, or deleted after retention)

    @property
    def closed(self) -> bool:
        return self.status is None or self.status in CLOSED

    @property
    def running(self) -> bool:
        return self.status == S.RUNNING

    @property
    def ending(self) -> str:
        """How it ended, in words: "was terminated", "is gone (...)"."""
        return RUN_ENDINGS.get(self.status if self.status is not None else "gone", "ended")


@dataclass(frozen=True)
class Reconciled:
    """What reconciling one attempt did."""

    attempt_id: str
    action: Literal["abandoned", "terminated", "redelivered", "none"]
    status: str  # the attempt's status afterwards
    run: LatestRun
    message: str

    @property
    def changed(self) -> bool:
        return self.action != "none"


async def latest_run(client: Client, workflow_id: str) -> LatestRun:
    """The workflow's latest run (no run id: whichever is newest), or a gone one."""
    try:
        description = await client.get_workflow_handle(workflow_id).describe()
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            return LatestRun(run_id=None, status=None)
        raise
    return LatestRun(run_id=description.run_id, status=description.status)


async def reconcile(
    client: Client, sessions: SessionFactory, attempt_id: str, now: datetime | None = None
) -> Reconciled:
    """Make the database and Temporal agree about one attempt (see the module's docstring)."""
    attempt = await asyncio.to_thread(_read, sessions, attempt_id)
    return await reconcile_attempt(client, sessions, attempt, now)


async def reconcile_attempt(
    client: Client, sessions: SessionFactory, attempt: Attempt, now: datetime | None = None
) -> Reconciled:
    """`reconcile`, for an attempt read already (a page load has it): one call to Temporal when
    nothing needs doing."""
    run = await latest_run(client, attempt.workflow_id)
    return await _reconcile(client, sessions, attempt, run, now)


async def reconcile_all(client: Client, sessions: SessionFactory) -> list[Reconciled]:
    """Reconcile every attempt that needs it; what changed, in the order done.

    One list of the running attempt workflows (Temporal's visibility), then: every attempt open
    in the database without a running workflow is described and, if its run has closed,
    abandoned; every ended attempt whose workflow runs under another run id than the one that
    wrote its story gets that run terminated. Visibility lags a little: a run just started is
    described before anything is done to it."""
    running: dict[str, str] = {}
    async for execution in client.list_workflows(RUNNING_ATTEMPTS):
        running[execution.id] = execution.run_id
    open_ones, ended_ones = await asyncio.to_thread(_candidates, sessions, set(running))
    needed = [attempt for attempt in open_ones if attempt.workflow_id not in running]
    # An ended attempt's own run may still be finishing its last steps, or wait for a decision
    # it lost: a completed one gets its decision again (harmless to a run that has it).
    needed += [
        attempt
        for attempt in ended_ones
        if running[attempt.workflow_id] != attempt.run_id or attempt.status == AttemptStatus.COMPLETED
    ]
    done = []
    for attempt in needed:
        run = await latest_run(client, attempt.workflow_id)  # visibility may lag: ask the run itself
        outcome = await _reconcile(client, sessions, attempt, run, datetime.now(UTC))
        if outcome.changed:
            done.append(outcome)
    return done


def abandon_reason(run: LatestRun) -> str:
    return f"its workflow {run.ending} before the attempt ended"


async def _reconcile(
    client: Client, sessions: SessionFactory, attempt: Attempt, run: LatestRun, now: datetime | None
) -> Reconciled:
    ended = AttemptStatus(attempt.status) in TERMINAL
    if not ended and run.closed:
        reason = abandon_reason(run)
        abandoned = await asyncio.to_thread(_abandon, sessions, attempt.id, reason, now or datetime.now(UTC))
        if abandoned:
            return Reconciled(
                attempt.id,
                "abandoned",
                AttemptStatus.EXPIRED,
                run,
                f"attempt {attempt.id}: {reason}; abandoned (expired), its review task closed",
            )
        attempt = await asyncio.to_thread(_read, sessions, attempt.id)  # it ended meanwhile
        ended = True
    if ended and run.running and run.run_id != attempt.run_id:
        await client.get_workflow_handle(attempt.workflow_id, run_id=run.run_id).terminate(
            reason=RESET_CANNOT_UNDO
        )
        return Reconciled(
            attempt.id,
            "terminated",
            attempt.status,
            run,
            f"attempt {attempt.id} is {attempt.status}: its workflow's new run {run.run_id} "
            f"was terminated ({RESET_CANNOT_UNDO})",
        )
    if ended and run.running and attempt.status == AttemptStatus.COMPLETED:
        decision = await asyncio.to_thread(_stored_decision, sessions, attempt.id)
        if decision is not None and await _redeliver(client, attempt, run, decision):
            return Reconciled(
                attempt.id,
                "redelivered",
                attempt.status,
                run,
                f"attempt {attempt.id} is completed but its workflow still runs: its decision "
                f"({decision.decision}) was sent to it again",
            )
    return Reconciled(attempt.id, "none", attempt.status, run, _nothing_to_do(attempt, run))


async def _redeliver(client: Client, attempt: Attempt, run: LatestRun, decision: DecisionRequest) -> bool:
    """The stored decision, to the run that wrote it; False when that run has closed meanwhile."""
    handle = client.get_workflow_handle(attempt.workflow_id, run_id=run.run_id)
    try:
        await handle.signal(AttemptWorkflow.submit_decision, decision)
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            return False
        raise
    return True


def _nothing_to_do(attempt: Attempt, run: LatestRun) -> str:
    if run.running:
        return f"attempt {attempt.id} is {attempt.status} and its workflow is running: nothing to do"
    return f"attempt {attempt.id} is {attempt.status}; its workflow {run.ending}: nothing to do"


def _read(sessions: SessionFactory, attempt_id: str) -> Attempt:
    with sessions() as session:
        attempt = session.get(Attempt, attempt_id)
    if attempt is None:
        raise NotFound(f"attempt {attempt_id} does not exist")
    return attempt


def _stored_decision(sessions: SessionFactory, attempt_id: str) -> DecisionRequest | None:
    with sessions() as session:
        return records.stored_decision(session, attempt_id)


def _abandon(sessions: SessionFactory, attempt_id: str, reason: str, at: datetime) -> bool:
    with transaction(sessions) as session:
        return records.abandon(session, attempt_id, reason, at)


def _candidates(sessions: SessionFactory, running: set[str]) -> tuple[list[Attempt], list[Attempt]]:
    """Attempts open in the database; attempts ended in the database whose workflow is running."""
    ended = [status.value for status in TERMINAL]
    with sessions() as session:
        open_ones = list(
            session.exec(
                select(Attempt).where(col(Attempt.status).not_in(ended)).order_by(col(Attempt.updated_at))
            )
        )
        ended_ones: list[Attempt] = []
        ids = sorted(running)
        for start in range(0, len(ids), CHUNK):
            ended_ones += session.exec(
                select(Attempt).where(
                    col(Attempt.workflow_id).in_(ids[start : start + CHUNK]), col(Attempt.status).in_(ended)
                )
            )
    return open_ones, ended_ones
