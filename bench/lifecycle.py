"""Full-lifecycle attempts under load: full proctoring with a fast audit, driven through the
HTTP API and the emulator's control API, N attempts in flight at a time.

Each attempt: open the lesson, wait for the ProctorFree session, the learner starts, the quiz
result arrives, the learner presses FINISH, ProctorFree's auditor signs off at once, the task
turns ready for review, a reviewer passes it (timed: the reply waits for the completion it
causes), `lesson.completed` reaches the LMS (timed from the decision too), and the progress API
is read once to confirm the lesson completed.

The LMS learns that the session exists, that the task is ready for review and that the lesson
completed from ProctorFlow's events (`bench/events.py`: webhooks or the feed), never by polling
the attempt; the session's id, which no event carries, takes one `GET /attempts/{id}`."""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

from temporalio.client import Client

from bench.events import AttemptNews
from bench.lms import Lms, Refused
from bench.load import LoadResult, closed_loop
from models.payloads import workflow_id_for
from tests.support.audits import non_task_events

TRAILING_CALLS_WAIT = 1.0  # lets the last webhooks (the emulator's, the events) land before counting
COMPLETION_EVENT_TIMEOUT = 30.0  # after the decision's reply


@dataclass
class LifecycleRun:
    load: LoadResult
    decision_seconds: list[float] = field(default_factory=list)
    # From the decision sent to `lesson.completed` received by the LMS (webhook or feed).
    decision_to_event_seconds: list[float] = field(default_factory=list)
    decision_to_progress_seconds: list[float] = field(default_factory=list)
    completed_in_reply: int = 0
    # Where an attempt's wall time goes, step by step (seconds, one entry per attempt).
    steps: dict[str, list[float]] = field(default_factory=dict)
    attempt_ids: list[str] = field(default_factory=list)
    vendor_calls: Counter[str] = field(default_factory=Counter)
    webhooks_sent: int = 0
    # Events the LMS received during the phase (received, duplicate, rejected, type:<t>), and
    # each one's lag from its timestamp to its arrival, in seconds.
    events: Counter[str] = field(default_factory=Counter)
    event_lags: list[float] = field(default_factory=list)


async def run_lifecycle(lms: Lms, total: int, concurrency: int, time_limit: float) -> LifecycleRun:
    course_id = await lms.proctored_course("full")
    batch = uuid.uuid4().hex[:6]
    run = LifecycleRun(load=LoadResult())
    before = await lms.vendor_stats()
    told_before = lms.news.tally()

    async def one(index: int) -> None:
        await _one_attempt(lms, course_id, f"life-{batch}-{index}", run)

    run.load = await closed_loop(total, concurrency, one, time_limit)
    await asyncio.sleep(TRAILING_CALLS_WAIT)
    after = await lms.vendor_stats()
    run.vendor_calls = Counter(after["api_calls"]) - Counter(before["api_calls"])
    run.webhooks_sent = after["webhooks_sent"] - before["webhooks_sent"]
    run.events = lms.news.tally().counts - told_before.counts
    run.event_lags = lms.news.lags[told_before.lags :]
    return run


async def _one_attempt(lms: Lms, course_id: str, learner_id: str, run: LifecycleRun) -> None:
    clock = _StepClock(run.steps)
    attempt_id = (await lms.open(course_id, learner_id))["attempt_id"]
    clock.lap("open")
    await lms.news.until(attempt_id, _awaiting_setup, "it awaits setup")
    session_id = (await lms.attempt(attempt_id))["vendor_session_id"]
    if session_id is None:
        raise Refused(f"attempt {attempt_id} awaits setup without a ProctorFree session")
    clock.lap("until_vendor_session")
    await lms.control("start", session_id)
    await lms.exam_result(attempt_id, score=91, passed=True)
    await lms.control("finish", session_id)
    await lms.control("audit", session_id, outcome="clean")
    clock.lap("learner_and_auditor_calls")
    ready = await lms.news.until(attempt_id, _ready_for_review, "its review task is ready for review")
    clock.lap("until_ready_for_review")

    sent = time.perf_counter()
    reply = await lms.decide(ready.review_task_id or "")
    run.decision_seconds.append(time.perf_counter() - sent)
    if reply["status"] == "completed":
        run.completed_in_reply += 1
    told = await lms.news.until(
        attempt_id, _lesson_completed, "lesson.completed", timeout=COMPLETION_EVENT_TIMEOUT
    )
    run.decision_to_event_seconds.append((told.lesson_completed_at or math.nan) - sent)
    await _progress_shows_completion(lms, course_id, learner_id)
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


def _awaiting_setup(news: AttemptNews) -> bool:
    return news.reached("awaiting_setup")


def _ready_for_review(news: AttemptNews) -> bool:
    return news.review_task_id is not None and news.review_state == "ready_for_review"


def _lesson_completed(news: AttemptNews) -> bool:
    return news.lesson_completed_at is not None


async def _progress_shows_completion(lms: Lms, course_id: str, learner_id: str) -> None:
    """One read, once `lesson.completed` arrived: the progress API must agree with the event."""
    lesson = (await lms.progress(course_id, learner_id))["lessons"][0]
    if not lesson["completed"]:
        raise Refused(f"learner {learner_id}'s lesson.completed arrived, but their progress says otherwise")


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
