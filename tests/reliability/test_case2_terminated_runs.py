"""Issue 20, case 2: a terminated workflow left its attempt open for good.

Ops terminate an attempt's workflow from Temporal Web (or it times out, fails, or its closed run
is deleted after the namespace's retention): nothing is left to write the attempt's end. Before,
the lesson page said `in_progress` for ever, a retake got 409 for ever, `cancel` said "it is over
already" while `stuck` listed it, a decision got 409 "workflow has closed", the review task
stayed in the open queue; and once the closed run was deleted, the next page load started a new
run for the same workflow id over the old run's steps. Now every such attempt is reconciled:
the step `abandoned`, the attempt `expired`, its review task `closed`; by `open`, `cancel`, a
decision, and `proctorflow reconcile`, while `proctorflow stuck` marks them.

All on the real Temporal dev server, through the LMS API over HTTP."""

from __future__ import annotations

import argparse
import asyncio
import re

import pytest
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DeleteWorkflowExecutionRequest
from temporalio.service import RPCError, RPCStatusCode

from cli.ops import add_ops_commands
from models.payloads import workflow_id_for
from starter import ops
from tests.api.helpers import (
    assert_refused,
    learner_takes_exam,
    open_attempt,
    open_body,
    proctored_course,
    review_task_of,
    unique,
    vendor_session,
)
from tests.support.stack import Stack, running_stack

TERMINATED = "its workflow was terminated before the attempt ended"


@pytest.fixture(scope="module")
async def stack(dev_server, tmp_path_factory) -> Stack:
    async with running_stack(dev_server.client, tmp_path_factory.mktemp("case2")) as running:
        yield running


async def cli(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="proctorflow")
    add_ops_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return await asyncio.to_thread(args.run, args)


async def learner_started(stack: Stack, course_id: str, attempt_number: int = 1, learner: str = "") -> str:
    """An attempt whose learner is in the proctored session: its workflow waits for FINISH."""
    learner = learner or unique("learner")
    attempt_id = (await open_attempt(stack.api, course_id, learner, attempt_number))["attempt_id"]
    session_id = await vendor_session(stack, attempt_id)
    await stack.control("start", session_id)
    await stack.wait_for_attempt(attempt_id, lambda a: a["status"] == "in_progress")
    return attempt_id


async def terminate(stack: Stack, attempt_id: str) -> None:
    """What ops do from Temporal Web."""
    handle = stack.client.get_workflow_handle(workflow_id_for(attempt_id))
    await handle.terminate(reason="terminated from Temporal Web")


async def attempt(stack: Stack, attempt_id: str) -> dict:
    response = await stack.api.get(f"/attempts/{attempt_id}")
    assert response.status_code == 200, response.text
    return response.json()


def assert_abandoned(body: dict, reason: str = TERMINATED) -> None:
    assert body["status"] == "expired", body
    last = body["events"][-1]
    assert (last["event"], last["status"], last["detail"]) == ("abandoned", "expired", {"reason": reason})


async def test_open_answers_expired_once_the_workflow_was_terminated_and_a_retake_opens(stack):
    course_id, _ = await proctored_course(stack.api, allows_retakes=True)
    learner = unique("learner")
    attempt_id = await learner_started(stack, course_id, learner=learner)
    await terminate(stack, attempt_id)

    reopened = await stack.api.post("/attempts/open", json=open_body(course_id, learner))

    assert reopened.status_code == 200, reopened.text
    assert reopened.json()["status"] == "expired"
    assert_abandoned(await attempt(stack, attempt_id))
    retake = await stack.api.post("/attempts/open", json=open_body(course_id, learner, attempt_number=2))
    assert retake.status_code == 200, retake.text
    await vendor_session(stack, retake.json()["attempt_id"])


async def test_a_retake_of_an_attempt_whose_workflow_was_terminated_opens_at_once(stack):
    """The retake itself reconciles the attempt before it: no 409 "still in_progress"."""
    course_id, _ = await proctored_course(stack.api, allows_retakes=True)
    learner = unique("learner")
    attempt_id = await learner_started(stack, course_id, learner=learner)
    await terminate(stack, attempt_id)

    retake = await stack.api.post("/attempts/open", json=open_body(course_id, learner, attempt_number=2))

    assert retake.status_code == 200, retake.text
    assert_abandoned(await attempt(stack, attempt_id))


async def test_cancel_reconciles_an_attempt_whose_workflow_was_terminated(stack, ops_environment, capsys):
    ops_environment(stack.settings)
    course_id, _ = await proctored_course(stack.api)
    attempt_id = await learner_started(stack, course_id)
    await terminate(stack, attempt_id)

    assert await cli("cancel", attempt_id) == 0

    out = capsys.readouterr().out
    assert f"attempt {attempt_id}: {TERMINATED}; abandoned (expired), its review task closed" in out
    assert "reconciled: there was no running workflow to cancel" in out
    assert_abandoned(await attempt(stack, attempt_id))
    with pytest.raises(Exception, match="it is over already"):
        await ops.cancel(stack.client, stack.sessions, attempt_id)


async def test_stuck_marks_it_and_reconcile_closes_it_and_its_task_leaves_the_open_queue(
    stack, ops_environment, capsys
):
    ops_environment(stack.settings)
    course_id, _ = await proctored_course(stack.api)  # record only, validation on
    attempt_id = (await open_attempt(stack.api, course_id, unique("learner")))["attempt_id"]
    await learner_takes_exam(stack, attempt_id)
    task = await review_task_of(stack, attempt_id, "ready_for_review")
    await terminate(stack, attempt_id)

    assert await cli("stuck", "--older-than", "0s") == 0
    listed = capsys.readouterr().out
    mark = rf"{attempt_id}  ready_for_review .*\n      workflow terminated: `proctorflow reconcile` closes it"
    assert re.search(mark, listed), listed

    assert await cli("reconcile", attempt_id) == 0

    assert f"attempt {attempt_id}: {TERMINATED}; abandoned" in capsys.readouterr().out
    assert_abandoned(await attempt(stack, attempt_id))
    closed = (await stack.api.get(f"/review-tasks/{task['id']}")).json()
    assert closed["state"] == "closed" and closed["completed_at"] is not None
    assert closed["notice"].startswith("Closed: this task was closed without a decision: its attempt ended")
    queue = (await stack.api.get("/review-tasks", params={"course_id": course_id, "open": "true"})).json()
    assert queue["total"] == 0
    assert await cli("reconcile", attempt_id) == 0
    assert "nothing to do" in capsys.readouterr().out


async def test_reconcile_all_closes_every_attempt_whose_workflow_was_terminated(
    stack, ops_environment, capsys
):
    ops_environment(stack.settings)
    course_id, _ = await proctored_course(stack.api)
    terminated = [await learner_started(stack, course_id) for _ in range(2)]
    running = await learner_started(stack, course_id)
    for attempt_id in terminated:
        await terminate(stack, attempt_id)

    assert await cli("reconcile", "--all") == 0

    out = capsys.readouterr().out
    for attempt_id in terminated:
        assert f"attempt {attempt_id}: {TERMINATED}; abandoned" in out
        assert_abandoned(await attempt(stack, attempt_id))
    assert running not in out and (await attempt(stack, running))["status"] == "in_progress"
    assert await cli("reconcile", "--all") == 0
    assert not any(attempt_id in capsys.readouterr().out for attempt_id in terminated)


async def test_a_decision_on_a_task_whose_workflow_was_terminated_answers_409_with_the_reason(stack):
    course_id, _ = await proctored_course(stack.api)
    attempt_id = (await open_attempt(stack.api, course_id, unique("learner")))["attempt_id"]
    await learner_takes_exam(stack, attempt_id)
    task = await review_task_of(stack, attempt_id, "ready_for_review")
    await terminate(stack, attempt_id)

    decision = {"decision": "pass", "reviewer": "rita@lms"}
    first = await stack.api.post(f"/review-tasks/{task['id']}/decision", json=decision)

    assert_refused(first, 409, "workflow has closed", TERMINATED, "abandoned")
    assert_abandoned(await attempt(stack, attempt_id))
    again = await stack.api.post(f"/review-tasks/{task['id']}/decision", json=decision)
    assert_refused(again, 409, "this task was closed without a decision: its attempt ended")


async def test_after_the_closed_run_is_deleted_open_starts_no_new_run_over_the_old_steps(stack):
    """Namespace retention deletes a closed run; its workflow id is then free in Temporal, but
    the attempt's steps are still in the database: the page load reconciles, never restarts."""
    course_id, _ = await proctored_course(stack.api)
    learner = unique("learner")
    attempt_id = await learner_started(stack, course_id, learner=learner)
    await terminate_and_delete(stack, attempt_id)

    reopened = await stack.api.post("/attempts/open", json=open_body(course_id, learner))

    assert reopened.status_code == 200, reopened.text
    assert reopened.json()["status"] == "expired"
    assert_abandoned(
        await attempt(stack, attempt_id),
        "its workflow is gone (deleted after the namespace's retention period) before the attempt ended",
    )
    assert await is_gone(stack, attempt_id), "no new run was started for the workflow id"


async def terminate_and_delete(stack: Stack, attempt_id: str) -> None:
    """A terminated run, then deleted as the namespace's retention deletes closed runs. Deleting
    a running workflow terminates it and deletes it at once (deleting one terminated before
    takes the dev server most of a minute)."""
    await stack.client.workflow_service.delete_workflow_execution(
        DeleteWorkflowExecutionRequest(
            namespace=stack.client.namespace,
            workflow_execution=WorkflowExecution(workflow_id=workflow_id_for(attempt_id)),
        )
    )
    for _ in range(300):
        if await is_gone(stack, attempt_id):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"the workflow of attempt {attempt_id} was not deleted")


async def is_gone(stack: Stack, attempt_id: str) -> bool:
    try:
        await stack.client.get_workflow_handle(workflow_id_for(attempt_id)).describe()
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            return True
        raise
    return False
