"""Driving one attempt's workflow against the stub activities (tests/workflows/stubs.py) on
the time-skipping server: what test_story.py and the issue-20 case files share.

Time skips only while a test awaits the workflow's result or `env.sleep(...)`: queries and
updates do not skip it. Times are asserted on workflow time (the `at` of the written steps).
Await the result only once the workflow will end by itself: an idle workflow waiting for a
signal is skipped straight to the test server's default ten-year run timeout. To reach a state
that needs time, `env.sleep(...)` past it, then query.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from models.payloads import (
    AttemptInput,
    AttemptKey,
    AttemptState,
    AttemptTimers,
    CompletionReport,
    DecisionReply,
    DecisionRequest,
    ExamResult,
)
from models.review_ops import ReviewPolicy
from models.rules import Method
from models.statuses import AttemptStatus as S
from tests.workflows.stubs import COURSE_COMPLETE, Stubs
from workflows.attempt import AttemptWorkflow

TIMERS = AttemptTimers(
    session_poll_interval=timedelta(minutes=10),
    session_poll_max_interval=timedelta(minutes=30),
    finish_window=timedelta(hours=2),
    exam_result_window=timedelta(hours=1),
    audit_poll_interval=timedelta(hours=1),
    audit_deadline=timedelta(hours=6),
)
PASSED_ALL = "passed; lesson completed, course completed, certificate issued"
COMPLETED_ALL = CompletionReport(
    lesson_success=True, course_completed=True, course_reason=COURSE_COMPLETE, certificate_issued=True
)


# --- Driving one attempt -----------------------------------------------------------------------


@asynccontextmanager
async def attempt(
    env: WorkflowEnvironment,
    stubs: Stubs,
    method: Method,
    required: bool,
    requires_validation: bool,
    timers: AttemptTimers = TIMERS,
    allowed_minutes: int | None = None,
    review_policy: ReviewPolicy | None = None,
    **worker_options,
) -> AsyncIterator[WorkflowHandle]:
    """A worker with the stubs on its own task queue, and the attempt's workflow started on it."""
    task_queue = f"story-{uuid.uuid4().hex[:10]}"
    key = AttemptKey(
        org_id=f"org-{uuid.uuid4().hex[:8]}",
        course_id="course-1",
        lesson_id="exam",
        learner_id="learner-1",
        attempt_number=1,
    )
    worker = Worker(
        env.client,
        task_queue=task_queue,
        workflows=[AttemptWorkflow],
        activities=stubs.activities(),
        **worker_options,
    )
    async with worker:
        handle = await env.client.start_workflow(
            AttemptWorkflow.run,
            AttemptInput(
                attempt_id=key.attempt_id,
                key=key,
                integration_id="integration-1",
                method=method,
                required=required,
                requires_validation=requires_validation,
                timers=timers,
                allowed_minutes=allowed_minutes,
                review_policy=review_policy or ReviewPolicy(),
            ),
            id=key.workflow_id,
            task_queue=task_queue,
        )
        yield handle


def since(later: datetime, earlier: datetime) -> timedelta:
    """Workflow time between two steps, to the second: the test server's clock also runs on in
    real time (a few milliseconds a test) besides the time it skips."""
    return timedelta(seconds=round((later - earlier).total_seconds()))


async def until(
    handle: WorkflowHandle, predicate: Callable[[AttemptState], bool], timeout: float = 5.0
) -> AttemptState:
    """Query until the attempt's state satisfies `predicate` (queries do not skip time)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        state = await handle.query(AttemptWorkflow.state)
        if predicate(state):
            return state
        if loop.time() > deadline:
            raise AssertionError(f"timed out; last state: {state}")
        await asyncio.sleep(0.01)


async def opened(handle: WorkflowHandle) -> AttemptState:
    """The ProctorFree session exists: the learner sees the set-up button."""
    return await until(handle, lambda s: s.vendor_session_id is not None)


GOOD_EXAM = ExamResult(score=88, passed=True)


async def takes_exam(handle: WorkflowHandle, exam: ExamResult | None = GOOD_EXAM) -> AttemptState:
    """The learner starts, submits the quiz (unless `exam` is None) and presses FINISH; the
    vendor's webhooks are the signals they become."""
    await opened(handle)
    await handle.signal(AttemptWorkflow.learner_started)
    await until(handle, lambda s: s.status == S.IN_PROGRESS)
    if exam is not None:
        await handle.signal(AttemptWorkflow.exam_result, exam)
        await until(handle, lambda s: s.exam is not None)
    await handle.signal(AttemptWorkflow.learner_finished)
    return await until(handle, lambda s: s.finished)


async def decide(handle: WorkflowHandle, decision: str, reviewer: str = "rita@lms") -> DecisionReply:
    return await handle.execute_update(
        AttemptWorkflow.decide, DecisionRequest(decision=decision, reviewer=reviewer)
    )


async def refusal(handle: WorkflowHandle, decision: str, reviewer: str = "rita@lms") -> str:
    """The text a refused decision is answered with."""
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await decide(handle, decision, reviewer)
    return refused.value.cause.message
