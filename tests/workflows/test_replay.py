"""Replay every recorded history against today's workflow code: a change that would break
running attempts fails here.

Until the first release there are no deployed histories: a change to running logic records
the histories of every path anew (workflows/README.md):
    PROCTORFLOW_RECORD_HISTORIES=1 make test PYTEST_ARGS="tests/workflows"
and commits the JSON files under tests/workflows/histories/. From the first release on,
changes go behind `workflow.patched`, each id listed in `workflows/patches.py`.
"""

from __future__ import annotations

import ast
import itertools
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from cli.replay import WORKFLOWS as REPLAYED
from tests.support.keys import TEST_CONVERTER
from workflows import patches

HISTORY_DIR = Path(__file__).parent / "histories"
HISTORIES = sorted(HISTORY_DIR.rglob("*.json"))
WORKFLOWS_DIR = Path(patches.__file__).parent
# Every workflow a recorded history may be of (the workers' own list, which `proctorflow replay`
# uses too): the replayer runs the one its history names.
WORKFLOWS = list(REPLAYED)

# Each plan of the source's table: method x required x requires validation.
PLAN_PATHS = [
    f"plan_{method}_{required}_{validation}"
    for method, required, validation in itertools.product(
        ("full", "record_only", "practice"), ("required", "optional"), ("validated", "auto")
    )
]
OTHER_PATHS = [
    "record_only_passed",
    "record_only_failed",
    "full_audit_after_1h",
    "full_audit_after_23h",
    "expired",
    "audit_escalated",
    "practice_capped",
    "credentials_rejected_then_resumed",
    "signals_out_of_order",
    "decisions_by_signal",
    "cancelled",
    "accommodated_capped",
    "time_extended",
    "reset_while_awaiting_audit",
    "voided_in_session",
    "capped_by_vendor",
    "review_escalated_overdue",
    "review_claim_lapsed",
    "second_review_agreed",
    "second_review_disagreed",
]
# Events to the LMS (recorded by tests/workflows/test_event_stream.py).
EVENT_PATHS = [
    "events_stream_delivered_in_order",
    "events_stream_retried_then_delivered",
    "events_stream_given_up_after_the_window",
    "events_stream_idle_end",
    "events_stream_woken_while_idle",
    "events_stream_continued_as_new",
    "events_dispatch_runs_again",
]

# E-mail notices (recorded by tests/workflows/test_notice_workflow.py).
NOTICE_PATHS = ["notice_sent_after_retries", "notice_refused_for_good", "notice_given_up_after_the_window"]


@pytest.mark.parametrize("name", PLAN_PATHS + OTHER_PATHS + EVENT_PATHS + NOTICE_PATHS)
def test_a_history_is_recorded_for_every_path(name: str):
    assert (HISTORY_DIR / f"{name}.json").exists(), (
        f"no recorded history for {name}: record them anew (see this module's docstring)"
    )


@pytest.mark.parametrize("path", HISTORIES, ids=lambda p: str(p.relative_to(HISTORY_DIR).with_suffix("")))
async def test_recorded_history_replays_without_nondeterminism(path: Path):
    history = WorkflowHistory.from_json(f"recorded-{path.stem}", path.read_text())
    replayer = Replayer(workflows=WORKFLOWS, data_converter=TEST_CONVERTER)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None


def patch_ids_used() -> dict[str, str]:
    """Every id passed to `workflow.patched` or `workflow.deprecate_patch` under workflows/,
    by where it is used. An id must be a string or a name bound to one in `patches.py`."""
    used = {}
    for path in sorted(WORKFLOWS_DIR.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            if node.func.attr not in ("patched", "deprecate_patch"):
                continue
            (argument,) = node.args
            if isinstance(argument, ast.Constant):
                patch_id = argument.value
            else:
                patch_id = getattr(patches, ast.unparse(argument).split(".")[-1], None)
            used[f"{path.name}:{node.lineno}"] = patch_id
    return used


def test_every_patch_in_use_is_listed_with_its_retirement_condition_and_none_is_stale():
    used = patch_ids_used()
    unlisted = {where: patch_id for where, patch_id in used.items() if patch_id not in patches.PATCHES}
    assert not unlisted, f"list these patch ids in workflows/patches.py with when to retire them: {unlisted}"
    stale = set(patches.PATCHES) - set(used.values())
    assert not stale, f"listed in workflows/patches.py but no longer used (delete them): {stale}"
    assert all(condition.strip() for condition in patches.PATCHES.values())


def test_the_patch_check_sees_a_patched_call(tmp_path, monkeypatch):
    """The check above reads the code: a `patched` call it could not see would pass unlisted."""
    (tmp_path / "story.py").write_text('if workflow.patched("new-way"):\n    pass\n')
    monkeypatch.setattr("tests.workflows.test_replay.WORKFLOWS_DIR", tmp_path)
    assert patch_ids_used() == {"story.py:1": "new-way"}
