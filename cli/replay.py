"""`proctorflow replay`: before a new worker version is rolled out, replay the histories of the
workflows running in production against this build's workflow code. A change that would break
an attempt waiting for its review shows up here, as a workflow id and why, instead of as a
stuck attempt after the rollout (docs/deploy.md, "Rollouts").

    proctorflow replay [--query 'ExecutionStatus="Running"'] [--limit 1000]

It needs the Temporal address and the payload key ring (histories are sealed), reads only, and
exits 1 when any history fails to replay."""

from __future__ import annotations

import argparse
import sys
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

from temporalio.client import Client, WorkflowHistory
from temporalio.worker import Replayer

from cli.common import with_temporal
from workflows.attempt import AttemptWorkflow
from workflows.event_delivery import EventDispatchWorkflow, EventStreamWorkflow
from workflows.notices import NOTICE_WORKFLOWS

# Every workflow this build's workers run; a history of another type is counted and skipped.
WORKFLOWS: tuple[type, ...] = (AttemptWorkflow, EventStreamWorkflow, EventDispatchWorkflow, *NOTICE_WORKFLOWS)
RUNNING = 'ExecutionStatus = "Running"'
PROGRESS_EVERY = 100


@dataclass
class ReplayOutcome:
    replayed: int = 0
    skipped: int = 0  # histories of workflow types this build does not run
    failures: list[tuple[str, str]] = field(default_factory=list)  # (workflow id, why)


def workflow_names(workflows: Sequence[type]) -> set[str]:
    return {definition.__temporal_workflow_definition.name for definition in workflows}  # type: ignore[attr-defined]


async def replay(
    client: Client,
    query: str = RUNNING,
    limit: int | None = None,
    workflows: Sequence[type] = WORKFLOWS,
    progress=None,
) -> ReplayOutcome:
    """Replay the histories of the workflows `query` finds against `workflows`."""
    outcome = ReplayOutcome()
    ours = workflow_names(workflows)

    async def histories() -> AsyncIterator[WorkflowHistory]:
        async for execution in client.list_workflows(query, limit=limit):
            if execution.workflow_type not in ours:
                outcome.skipped += 1
                continue
            yield await client.get_workflow_handle(execution.id, run_id=execution.run_id).fetch_history()

    replayer = Replayer(
        workflows=list(workflows), data_converter=client.data_converter, namespace=client.namespace
    )
    async with replayer.workflow_replay_iterator(histories()) as results:
        async for result in results:
            outcome.replayed += 1
            if result.replay_failure is not None:
                why = f"{type(result.replay_failure).__name__}: {result.replay_failure}"
                outcome.failures.append((result.history.workflow_id, why))
            if progress and outcome.replayed % PROGRESS_EVERY == 0:
                progress(f"{outcome.replayed} replayed, {len(outcome.failures)} failed so far")
    return outcome


def add_replay_command(subparsers: argparse._SubParsersAction) -> None:
    summary = "replay running workflows' histories against this build (before a rollout)"
    command = subparsers.add_parser(
        "replay", help=summary, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    command.add_argument("--query", default=RUNNING, help=f"a visibility query (default: {RUNNING})")
    command.add_argument("--limit", type=int, default=None, help="replay at most this many (default: all)")
    command.set_defaults(run=cmd_replay)


def cmd_replay(args: argparse.Namespace) -> int:
    def say(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    outcome = with_temporal(lambda client: replay(client, args.query, args.limit, progress=say))
    for workflow_id, why in outcome.failures:
        print(f"does not replay: {workflow_id}: {why}")
    skipped = f"; {outcome.skipped} of other types skipped" if outcome.skipped else ""
    if outcome.failures:
        print(f"{len(outcome.failures)} of {outcome.replayed} histories do not replay on this build{skipped}")
        return 1
    print(f"{outcome.replayed} histories replay on this build{skipped}")
    return 0
