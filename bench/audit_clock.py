"""Long audits in seconds: Temporal's time-skipping test server runs one full-proctoring attempt
whose audit ProctorFree finishes N hours after FINISH, with production clocks and webhooks
lost (polling alone: the worst case for vendor calls). Counts the vendor's status reads and the
workflow's history. Reuses the workflow tests' harness (emulator, database, worker)."""

from __future__ import annotations

import functools
import sys
from dataclasses import dataclass
from pathlib import Path

from temporalio.runtime import LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter
from temporalio.testing import WorkflowEnvironment

from models.api import LessonIn
from proctorflow.codec import PayloadKeys, new_key_spec
from proctorflow.settings import Settings
from proctorflow.temporal import data_converter, register_search_attributes
from tests.support.audits import full_attempt_with_audit_after, non_task_events
from workflows.search_attributes import ALL as SEARCH_ATTRIBUTES

EXAM = LessonIn(id="exam", title="Final exam", type="quiz", required=True)
CLOCKS = (
    "session_poll_interval",
    "session_poll_max_interval",
    "finish_window",
    "exam_result_window",
    "audit_poll_interval",
    "audit_deadline",
)
NAIVE_POLLS_PER_HOUR = 60  # the naive design: ask ProctorFree once a minute while an attempt waits
# A naive poll loop's history per poll: the activity (scheduled, started, completed), the timer
# (started, fired) and the two workflow tasks around them (3 events each): a model, not a count.
NAIVE_EVENTS_PER_POLL = 3 + 2 + 6


@dataclass
class AuditFigures:
    hours: int
    polls: int  # status reads of the attempt's ProctorFree session, FINISH check included
    vendor_calls: int  # every ProctorFree API call of the attempt
    history_events: int  # the whole history once the attempt completed
    non_task_events: int  # the same without workflow-task events
    audit_waited_hours: float  # in workflow time: the audit really landed N hours later


def production_clocks() -> dict[str, int]:
    """ProctorFlow's defaults, not the test suite's quick ones."""
    defaults = Settings.model_fields
    return {name: defaults[name].default for name in CLOCKS}


@functools.cache
def _quiet_runtime() -> Runtime:
    """The SDK core warns that the test server lacks a recent heartbeat capability: noise here."""
    quiet = TelemetryFilter(core_level="ERROR", other_level="ERROR")
    return Runtime(telemetry=TelemetryConfig(logging=LoggingConfig(filter=quiet)))


async def audit_after(hours: int, tmp: Path) -> AuditFigures:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(Path(sys.executable).parent / "temporal-test-server"),
        data_converter=data_converter(PayloadKeys.parse(new_key_spec("bench-skip"))),
        runtime=_quiet_runtime(),
    )
    try:
        await register_search_attributes(env.client, SEARCH_ATTRIBUTES)
        return await _one_audit(env, hours, tmp)
    finally:
        await env.shutdown()


async def _one_audit(env: WorkflowEnvironment, hours: int, tmp: Path) -> AuditFigures:
    run = await full_attempt_with_audit_after(env, tmp, hours, reviewer="bench", **production_clocks())
    return AuditFigures(
        hours=hours,
        polls=run.polls,
        vendor_calls=sum(run.stats_when_ready["api_calls"].values()),
        history_events=len(run.events_at_end),
        non_task_events=non_task_events(run.events_at_end),
        audit_waited_hours=run.waited.total_seconds() / 3600,
    )


def naive_figures(hours: int) -> dict[str, int]:
    polls = hours * NAIVE_POLLS_PER_HOUR
    return {"polls": polls, "history_events_estimate": polls * NAIVE_EVENTS_PER_POLL}
