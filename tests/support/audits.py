"""One full-proctoring attempt whose audit ProctorFree finishes N hours after FINISH, run on
the time-skipping server: shared by the audit-polling tests and the benchmark."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from temporalio.testing import WorkflowEnvironment

from models.api import LessonIn
from models.payloads import AttemptState, DecisionRequest
from tests.support.harness import running_harness
from workflows.attempt import AttemptWorkflow

EXAM = LessonIn(id="exam", title="Final exam", type="quiz", required=True)


def non_task_events(events: Any) -> int:
    """Events other than workflow-task bookkeeping, whose count depends on how the server
    batches signals and queries: activities, markers, signals, timers."""
    return sum(1 for e in events if not e.WhichOneof("attributes").startswith("workflow_task_"))


@dataclass
class AuditRun:
    session_id: str
    ready: AttemptState  # the attempt's state once its task turned ready
    stats_when_ready: dict  # the emulator's counters then
    events_when_ready: list  # the history then
    events_at_end: list  # the history once the attempt completed

    @property
    def waited(self) -> timedelta:
        assert self.ready.audit_at and self.ready.finished_at
        return self.ready.audit_at - self.ready.finished_at

    @property
    def polls(self) -> int:
        return self.stats_when_ready["sessions"][self.session_id]["status_checks"]


async def full_attempt_with_audit_after(
    env: WorkflowEnvironment, tmp_path: Path, hours: int, reviewer: str = "rita", **timers: int
) -> AuditRun:
    async with running_harness(env.client, tmp_path, **timers) as h:
        h.seed([EXAM], {"exam": ("full", True)})
        handle = await h.open("exam")
        session_id = await h.session_id(handle)
        # Hourly polls, the first an hour after FINISH: the audit is there on check number `hours`.
        await h.set_faults(audit_ready_after_checks=hours)
        await h.learner_takes_exam(handle)
        await h.wait_for(handle, lambda s: s.status == "awaiting_audit")
        await env.sleep(timedelta(hours=hours + 2))
        ready = await h.wait_for(handle, lambda s: s.status == "ready_for_review")
        stats = await h.stats()
        events_when_ready = list((await handle.fetch_history()).events)
        await handle.execute_update(
            AttemptWorkflow.decide, DecisionRequest(decision="pass", reviewer=reviewer)
        )
        await handle.result()
        await h.save_history(handle, f"full_audit_after_{hours}h")
        events_at_end = list((await handle.fetch_history()).events)
    return AuditRun(session_id, ready, stats, events_when_ready, events_at_end)
