"""Temporal's own ceiling on this machine: an empty workflow started and awaited, N at a time,
run by a worker process of its own on the same server. Whatever ProctorFlow does per attempt
costs on top of this."""

from __future__ import annotations

import sys
import time
import uuid

from temporalio import workflow
from temporalio.client import Client

from bench.load import LoadResult, closed_loop

TASK_QUEUE = "bench-ceiling"


@workflow.defn
class EmptyWorkflow:
    @workflow.run
    async def run(self) -> None:
        return None


def worker_command(address: str) -> list[str]:
    return [sys.executable, "-m", "bench.ceiling_worker", address, TASK_QUEUE]


async def measure_ceiling(client: Client, total: int, concurrency: int, time_limit: float) -> LoadResult:
    """Empty workflows per second at `concurrency`; a warm-up round first is not counted."""
    run = uuid.uuid4().hex[:8]

    async def one(index: int, phase: str = "run") -> None:
        await client.execute_workflow(
            EmptyWorkflow.run, id=f"empty-{run}-{phase}-{index}", task_queue=TASK_QUEUE
        )

    async def warm(index: int) -> None:
        await one(index, "warm")

    await closed_loop(concurrency * 2, concurrency, warm, time_limit)
    return await closed_loop(total, concurrency, one, time_limit)


async def start_latencies(client: Client, count: int) -> list[float]:
    """The start RPC alone, one at a time (seconds): what every lesson open waits for at least."""
    run = uuid.uuid4().hex[:8]
    latencies = []
    for index in range(count):
        started = time.perf_counter()
        handle = await client.start_workflow(
            EmptyWorkflow.run, id=f"start-{run}-{index}", task_queue=TASK_QUEUE
        )
        latencies.append(time.perf_counter() - started)
        await handle.result()
    return latencies
