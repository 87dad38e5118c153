"""`proctorflow replay`, the step before a rollout: the histories of running attempts replay on
this build, and a build whose workflow code no longer matches them is caught, naming the
workflow, before any worker runs it. On a real dev server, with a real attempt waiting."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from cli.replay import add_replay_command, replay
from models.payloads import workflow_id_for
from tests.api.helpers import open_attempt, proctored_course, unique
from tests.cli.changed_workflow import ChangedAttemptWorkflow
from tests.support.stack import running_stack


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="proctorflow")
    add_replay_command(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(argv)


async def test_running_attempts_replay_on_this_build_and_a_changed_build_is_caught(
    dev_server, tmp_path: Path, ops_environment, capsys
):
    async with running_stack(dev_server.client, tmp_path) as stack:
        course_id, _ = await proctored_course(stack.api, method="full")
        opened = await open_attempt(stack.api, course_id, unique("learner"))
        await stack.wait_for_attempt(opened["attempt_id"], lambda a: a["vendor_session_id"] is not None)
        workflow_id = workflow_id_for(opened["attempt_id"])
        query = f'WorkflowId = "{workflow_id}"'

        same = await replay(stack.client, query)
        assert (same.replayed, same.failures) == (1, [])

        changed = await replay(stack.client, query, workflows=[ChangedAttemptWorkflow])
        assert changed.replayed == 1
        [(failed_id, why)] = changed.failures
        assert failed_id == workflow_id
        assert "Nondeterminism" in why

        ops_environment(stack.settings)
        args = parse("replay", "--query", f'TaskQueue = "{stack.settings.task_queue}"')
        assert await asyncio.to_thread(args.run, args) == 0  # the command runs its own loop
        assert "1 histories replay on this build" in capsys.readouterr().out
