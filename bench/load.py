"""Driving load: a closed loop (N at a time, as many as asked) and an open loop (a fixed request
rate, however slow the answers), both bounded in count and time, plus the percentiles."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field


@dataclass
class LoadResult:
    done: int = 0
    failed: int = 0
    elapsed: float = 0.0
    errors: list[str] = field(default_factory=list)  # the first few, to say what went wrong
    extra: dict[str, float] = field(default_factory=dict)  # a phase's own figures

    @property
    def per_second(self) -> float:
        return self.done / self.elapsed if self.elapsed > 0 else 0.0

    def note_error(self, error: BaseException) -> None:
        self.failed += 1
        if len(self.errors) < 5:
            self.errors.append(f"{type(error).__name__}: {error}"[:300])


async def closed_loop(
    total: int,
    concurrency: int,
    one: Callable[[int], Awaitable[None]],
    time_limit: float,
    item_timeout: float = 120.0,
) -> LoadResult:
    """Run `one(0..total-1)`, `concurrency` at a time; none starts after `time_limit`, and those
    in flight then still finish (each within `item_timeout`), so none is cut short and counted
    as failed."""
    result = LoadResult()
    next_index = iter(range(total))
    start = time.perf_counter()
    deadline = start + time_limit

    async def lane() -> None:
        for index in next_index:
            if time.perf_counter() > deadline:
                return
            try:
                await asyncio.wait_for(one(index), timeout=item_timeout)
                result.done += 1
            except Exception as error:  # counted and reported; the run goes on
                result.note_error(error)

    await asyncio.gather(*(lane() for _ in range(concurrency)))
    result.elapsed = time.perf_counter() - start
    return result


async def open_loop(
    rate: float, seconds: float, one: Callable[[int], Awaitable[float]], timeout: float = 30.0
) -> tuple[list[float], LoadResult, float]:
    """Start `one(i)` at `rate` per second for `seconds`, whether or not earlier ones answered.

    Returns (each answered call's latency in seconds, the counts, the worst lag in starting a
    call behind its schedule: a large one means the load generator itself fell behind)."""
    result = LoadResult()
    latencies: list[float] = []
    count = max(1, int(rate * seconds))
    start = time.perf_counter()
    worst_lag = 0.0

    async def timed(index: int) -> None:
        try:
            latencies.append(await asyncio.wait_for(one(index), timeout=timeout))
            result.done += 1
        except Exception as error:
            result.note_error(error)

    tasks = []
    for index in range(count):
        due = start + index / rate
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        worst_lag = max(worst_lag, time.perf_counter() - due)
        tasks.append(asyncio.create_task(timed(index)))
    await asyncio.gather(*tasks)
    result.elapsed = time.perf_counter() - start
    return latencies, result, worst_lag


def percentile(samples: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100); NaN when there are no samples."""
    if not samples:
        return math.nan
    ordered = sorted(samples)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]
