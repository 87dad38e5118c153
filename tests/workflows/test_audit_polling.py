"""Full proctoring's audit wait: Temporal's infrequent polling keeps the vendor calls few and
the history the same length however long ProctorFree takes ("usually within 24 hours")."""

from __future__ import annotations

from datetime import timedelta

import pytest

from models.api import LessonIn
from tests.support.audits import full_attempt_with_audit_after, non_task_events

EXAM = LessonIn(id="exam", title="Final exam", type="quiz", required=True)


async def run_full_attempt_with_audit_after(env, tmp_path, hours: int) -> tuple[int, list, timedelta]:
    """Returns (vendor polls, history when the task turned ready, audit wait in workflow time)."""
    run = await full_attempt_with_audit_after(env, tmp_path, hours)
    return run.polls, run.events_when_ready, run.waited


@pytest.mark.parametrize("hours", [1, 23])
async def test_full_method_audit_polls_stay_few_over_23_hours(time_skipping, tmp_path, hours):
    polls, events, waited = await run_full_attempt_with_audit_after(time_skipping, tmp_path, hours)
    print(
        f"\naudit after {hours}h: {polls} vendor polls, {len(events)} history events "
        f"({non_task_events(events)} besides workflow tasks), waited {waited}"
    )
    assert waited >= timedelta(hours=hours - 1), "the audit landed in workflow time, not at once"
    assert waited < timedelta(hours=hours + 1), "found by the first poll after it landed"
    assert polls <= 30, "at most 30 polls for a 23-hour audit"
    assert polls <= hours + 2


async def test_history_length_is_the_same_for_a_1_hour_and_a_23_hour_audit(time_skipping, tmp_path):
    _, one_hour, _ = await run_full_attempt_with_audit_after(time_skipping, tmp_path / "1h", 1)
    _, day, _ = await run_full_attempt_with_audit_after(time_skipping, tmp_path / "23h", 23)
    print(
        f"\nhistory events: 1-hour audit {len(one_hour)} ({non_task_events(one_hour)} besides "
        f"workflow tasks), 23-hour audit {len(day)} ({non_task_events(day)})"
    )
    # Workflow-task events vary with how the server batches the test's signals and queries;
    # everything the attempt itself does is the same for 1 and 23 hours.
    assert non_task_events(one_hour) == non_task_events(day)
