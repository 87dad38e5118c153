"""Lesson-open latency at a fixed request rate: `POST /attempts/open` for distinct attempts,
started on schedule whether or not earlier ones have answered (an LMS's page loads do not wait
for each other). Each open stores the attempt and starts its workflow before it answers."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from bench.lms import Lms
from bench.load import LoadResult, open_loop

SERIAL_OPENS = 20


@dataclass
class OpenRun:
    latencies: list[float]  # at the fixed rate, seconds
    load: LoadResult
    worst_send_lag: float
    serial: list[float]  # one at a time first: the service time without queueing


async def run_open_latency(lms: Lms, rate: float, seconds: float) -> OpenRun:
    course_id = await lms.proctored_course("full")
    batch = uuid.uuid4().hex[:6]
    await lms.open(course_id, f"open-{batch}-warm")  # the first open of a course warms its caches
    serial = [await lms.timed_open(course_id, f"open-{batch}-serial-{i}") for i in range(SERIAL_OPENS)]

    async def one(index: int) -> float:
        return await lms.timed_open(course_id, f"open-{batch}-{index}")

    latencies, load, lag = await open_loop(rate, seconds, one)
    return OpenRun(latencies, load, lag, serial)
