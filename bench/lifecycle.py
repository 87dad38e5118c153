"""Full-lifecycle attempts under load: full proctoring with a fast audit, driven through the
HTTP API and the emulator's control API, N attempts in flight at a time.

Each attempt: open the lesson, wait for the ProctorFree session, the learner starts, the quiz
result arrives, the learner presses FINISH, ProctorFree's auditor signs off at once, the task
turns ready for review, a reviewer passes it (timed: the reply waits for the completion it
causes), and the progress API is read to confirm the lesson completed."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

from temporalio.client import Client

from bench.lms import Lms, Refused
from bench.load import LoadResult, closed_loop
from models.payloads import workflow_id_for
from tests.support.audits import non_task_events

TRAILING_CALLS_WAIT = 1.0  # lets the last polls' cancellations and webhooks land before counting


@dataclass
class LifecycleRun:
    load: LoadResult
    decision_seconds: list[float] = field(default_factory=list)
    decision_to_progress_seconds: list[float] = field(default_factory=list)
    completed_in_reply: int = 0
    # Where an attempt's wall time goes, step by step (seconds, one entry per attempt).
    steps: dict[str, list[float]] = field(default_factory=dict)
    attempt_ids: list[str] = field(default_factory=list)
    vendor_calls: Counter[str] = field(default_factory=Counter)
    webhooks_sent: int = 0


async def run_lifecycle(lms: Lms, total: int, concurrency: int, time_limit: float) -> LifecycleRun:
    course_id = await lms.proctored_course("full")
    batch = uuid.uuid4().hex[:6]
    run = LifecycleRun(load=LoadResult())
    before = await lms.vendor_stats()

    async def one(index: int) -> None:
        await _one_attempt(lms, course_id, f"life-{batch}-{index}", run)

    run.load = await closed_loop(total, concurrency, one, time_limit)
    await asyncio.sleep(TRAILING_CALLS_WAIT)
    after = await lms.vendor_stats()
    run.vendor_calls = Counter(after["api_calls"]) - Counter(before["api_calls"])
    run.webhooks_sent = after["webhooks_sent"] - before["webhooks_sent"]
    return run


async def _one_attempt(lms: Lms, course_id: str, learner_id: str, run: LifecycleRun) -> None:
    clock = _StepClock(run.steps)
    attempt_id = (await lms.open(course_id, learner_id))["attempt_id"]
    clock.lap("open")
    attempt = await lms.wait_for(attempt_id, lambda a: a["vendor_session_id"] is not None)
    session_id = attempt["vendor_session_id"]
    clock.lap("until_vendor_session")
    await lms.control("start", session_id)
    await lms.exam_result(attempt_id, score=91, passed=True)
    await lms.control("finish", session_id)
    await lms.control("audit", session_id, outcome="clean")
    clock.lap("learner_and_auditor_calls")
    ready = await lms.wait_for(attempt_id, _ready_for_review)
    clock.lap("until_ready_for_review")

    sent = time.perf_counter()
    reply = await lms.decide(ready["review_task"]["id"])
    run.decision_seconds.append(time.perf_counter() - sent)
    if reply["status"] == "completed":
        run.completed_in_reply += 1
    await _until_progress_shows_completion(lms, course_id, learner_id)
    run.decision_to_progress_seconds.append(time.perf_counter() - sent)
    run.attempt_ids.append(attempt_id)
    clock.lap("decision_and_progress")


class _StepClock:
    def __init__(self, steps: dict[str, list[float]]) -> None:
        self._steps = steps
        self._last = time.perf_counter()

    def lap(self, step: str) -> None:
        now = time.perf_counter()
        self._steps.setdefault(step, []).append(now - self._last)
        self._last = now


def _ready_for_review(attempt: dict) -> bool:
    task = attempt["review_task"]
    return task is not None and task["state"] == "ready_for_review"


async def _until_progress_shows_completion(
    lms: Lms, course_id: str, learner_id: str, timeout: float = 30.0
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        lesson = (await lms.progress(course_id, learner_id))["lessons"][0]
        if lesson["completed"]:
            return
        if time.monotonic() > deadline:
            raise Refused(
                f"learner {learner_id}'s lesson did not complete within {timeout:.0f}s of the decision"
            )
        await asyncio.sleep(0.05)


@dataclass
class HistorySample:
    events: list[int]
    non_task_events: list[int]


async def sample_histories(client: Client, attempt_ids: list[str], sample: int) -> HistorySample:
    """History length of up to `sample` completed attempts, and without workflow-task events
    (whose count depends on how the server batches concurrent signals)."""
    found = HistorySample([], [])
    for attempt_id in attempt_ids[:sample]:
        history = await client.get_workflow_handle(workflow_id_for(attempt_id)).fetch_history()
        found.events.append(len(history.events))
        found.non_task_events.append(non_task_events(history.events))
    return found
