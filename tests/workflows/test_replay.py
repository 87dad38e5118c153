"""Replay every recorded history against today's workflow code: a change that would break
running attempts fails here. Change running logic behind `workflow.patched`.

To record histories anew (after a deliberate, patched change), first move the current ones
into a folder named after the change (they stand for attempts started before it, which must
still replay), then run:
    PROCTORFLOW_RECORD_HISTORIES=1 make test PYTEST_ARGS="tests/workflows"
and commit the JSON files under tests/workflows/histories/.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from tests.support.keys import TEST_CONVERTER
from workflows.attempt import AttemptWorkflow

HISTORY_DIR = Path(__file__).parent / "histories"
HISTORIES = sorted(HISTORY_DIR.rglob("*.json"))  # today's, and those from before each change


def test_histories_are_recorded_for_the_main_paths():
    names = {path.stem for path in HISTORY_DIR.glob("*.json")}
    for path in (
        "record_only_passed",
        "full_audit_after_23h",
        "expired",
        "audit_escalated",
        "practice_capped",
        "credentials_rejected_then_resumed",
    ):
        assert path in names, f"no recorded history for {path}"


@pytest.mark.parametrize("path", HISTORIES, ids=lambda p: str(p.relative_to(HISTORY_DIR).with_suffix("")))
async def test_recorded_history_replays_without_nondeterminism(path: Path):
    history = WorkflowHistory.from_json(f"attempt-{path.stem}", path.read_text())
    replayer = Replayer(workflows=[AttemptWorkflow], data_converter=TEST_CONVERTER)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None
