"""Worker memory with thousands of attempts waiting for review.

Attempts of a required record_only lesson that requires validation are opened through the API
in batches; the learner's FINISH is signalled to each workflow directly (cheaper than the
emulator and its webhook, and the same signal). Once every attempt opened so far waits for a
reviewer and nothing is in flight, the worker's resident memory is read at that checkpoint.
When the time budget cannot reach the target, the figure at the target is extrapolated from
the checkpoints measured, and labelled so."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field

from sqlalchemy import func
from sqlmodel import select
from temporalio.client import Client

from bench.lms import Lms
from bench.load import closed_loop
from bench.system import Process
from models.payloads import workflow_id_for
from models.statuses import AttemptStatus
from models.tables import Attempt
from proctorflow.settings import Settings
from store.db import SessionFactory
from workflows.attempt import AttemptWorkflow

# The worker's workflow cache (PROCTORFLOW_WORKER_CACHED_WORKFLOWS, which the bench leaves at its
# default): past it, waiting workflows are evicted from the worker's memory and replayed when a
# message comes.
WORKFLOW_CACHE: int = Settings.model_fields["worker_cached_workflows"].default
SETTLE_SECONDS = 2.0  # after the last one turns waiting: the worker's in-flight work drains
WAIT_FOR_WAITING = 120.0  # longest wait for a batch to reach ready_for_review


@dataclass
class Checkpoint:
    waiting: int
    worker_rss_mb: float
    web_rss_mb: float
    temporal_rss_mb: float
    seconds: float  # since the phase began


@dataclass
class MemoryRun:
    target: int
    baseline_rss_mb: float
    checkpoints: list[Checkpoint] = field(default_factory=list)
    failed_opens: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def reached_target(self) -> bool:
        return bool(self.checkpoints) and self.checkpoints[-1].waiting >= self.target

    def rss_at_target(self) -> float:
        """Measured at the target, or a straight line through the checkpoints (extrapolated)."""
        if self.reached_target:
            return self.checkpoints[-1].worker_rss_mb
        slope, intercept = _line_through(self.extrapolated_from())
        return intercept + slope * self.target

    def extrapolated_from(self) -> list[tuple[int, float]]:
        """The checkpoints past the workflow cache when there are two (memory should have levelled
        off there), else all of them; with one, the line from the phase's start through it."""
        points = [(c.waiting, c.worker_rss_mb) for c in self.checkpoints]
        past_cache = [p for p in points if p[0] > WORKFLOW_CACHE]
        if len(past_cache) >= 2:
            return past_cache
        if len(points) < 2:
            return [(0, self.baseline_rss_mb), *points]
        return points

    def basis(self) -> str:
        if self.reached_target:
            return "measured"
        if len([c for c in self.checkpoints if c.waiting > WORKFLOW_CACHE]) >= 2:
            return f"extrapolated along the checkpoints past the worker's {WORKFLOW_CACHE}-workflow cache"
        return (
            f"extrapolated along checkpoints that never passed the worker's {WORKFLOW_CACHE}-workflow cache: "
            "an upper bound, since memory levels off once the cache is full (run longer: --scale)"
        )


async def run_memory(
    lms: Lms,
    client: Client,
    sessions: SessionFactory,
    processes: dict[str, Process],
    checkpoints: list[int],
    target: int,
    concurrency: int,
    time_limit: float,
    progress,  # noqa: ANN001 (a print-like callable)
) -> MemoryRun:
    course_id = await lms.proctored_course("record_only")
    batch = uuid.uuid4().hex[:6]
    run = MemoryRun(target=target, baseline_rss_mb=processes["worker"].rss_mb())
    started = time.perf_counter()
    deadline = started + time_limit
    opened = 0

    async def one(index: int) -> None:
        attempt = await lms.open(course_id, f"mem-{batch}-{opened + index}")
        await client.get_workflow_handle(workflow_id_for(attempt["attempt_id"])).signal(
            AttemptWorkflow.learner_finished
        )

    for goal in checkpoints:
        if not _fits(run, goal, opened, started, deadline):
            progress(f"  memory: stopping at {opened} waiting; {goal} would not fit the time budget")
            break
        load = await closed_loop(goal - opened, concurrency, one, max(deadline - time.perf_counter(), 1.0))
        run.failed_opens += load.failed
        run.errors += load.errors[: 5 - len(run.errors)]
        opened += load.done + load.failed
        waiting = await _until_waiting(sessions, course_id, load.done + _waiting_so_far(run))
        await asyncio.sleep(SETTLE_SECONDS)
        point = Checkpoint(
            waiting=waiting,
            worker_rss_mb=processes["worker"].rss_mb(),
            web_rss_mb=processes["web"].rss_mb(),
            temporal_rss_mb=processes["temporal"].rss_mb(),
            seconds=time.perf_counter() - started,
        )
        run.checkpoints.append(point)
        progress(f"  memory: {waiting} attempts waiting for review, worker RSS {point.worker_rss_mb:.0f} MB")
    return run


def _waiting_so_far(run: MemoryRun) -> int:
    return run.checkpoints[-1].waiting if run.checkpoints else 0


def _fits(run: MemoryRun, goal: int, opened: int, started: float, deadline: float) -> bool:
    """Whether the next batch should finish in the time left, at the pace seen so far."""
    if not run.checkpoints:
        return True
    pace = run.checkpoints[-1].waiting / max(run.checkpoints[-1].seconds, 1e-6)
    return (goal - opened) / max(pace, 1e-6) * 1.2 < deadline - time.perf_counter()


async def _until_waiting(sessions: SessionFactory, course_id: str, expected: int) -> int:
    deadline = time.monotonic() + WAIT_FOR_WAITING
    while True:
        waiting = await asyncio.to_thread(_count_waiting, sessions, course_id)
        if waiting >= expected or time.monotonic() > deadline:
            return waiting
        await asyncio.sleep(0.5)


def _count_waiting(sessions: SessionFactory, course_id: str) -> int:
    with sessions() as session:
        query = select(func.count()).where(
            Attempt.course_id == course_id, Attempt.status == AttemptStatus.READY_FOR_REVIEW.value
        )
        return session.exec(query).one()


def _line_through(points: list[tuple[int, float]]) -> tuple[float, float]:
    """Least-squares slope and intercept."""
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    if spread == 0:
        return 0.0, mean_y
    slope = sum((x - mean_x) * (y - mean_y) for x, y in points) / spread
    return slope, mean_y - slope * mean_x
