"""A finding of the chaos test (issue 20): a decision the database holds that its run never took.

The reviewer's decision reaches the workflow as an Update; the workflow writes it (the attempt
completed) from a local activity inside the workflow task. When the worker dies before that task
is recorded and Temporal restarts before the Update is delivered again, the Update is gone: the
database says completed, the run waits for a decision for good, and the API never forwards one
(the task is decided). `reconcile` sends the run the stored decision again; the run writes the
same steps, which changes nothing, and ends; its result tells the story the database holds.

On the real dev server: the lost task's write is made here, as the run would have made it."""

from __future__ import annotations

from sqlmodel import select
from temporalio.client import WorkflowExecutionStatus

from models.payloads import (
    AttemptKey,
    AttemptState,
    CompletionRequest,
    DecisionStep,
    ReviewTaskChange,
    StatusChange,
    workflow_id_for,
)
from models.tables import Attempt, AttemptEvent, ReviewTask, utcnow
from starter import reconcile
from store.db import transaction
from store.records import record_decision
from tests.api.helpers import learner_takes_exam, open_attempt, proctored_course, review_task_of, unique
from tests.support.stack import running_stack
from workflows.attempt import AttemptWorkflow


async def test_reconcile_gives_a_run_the_decision_the_database_holds_and_the_run_ends_with_it(
    dev_server, tmp_path
):
    async with running_stack(dev_server.client, tmp_path) as stack:
        course_id, _ = await proctored_course(stack.api)  # record only, validation on
        attempt_id = (await open_attempt(stack.api, course_id, unique("learner")))["attempt_id"]
        await learner_takes_exam(stack, attempt_id)
        await review_task_of(stack, attempt_id, "ready_for_review")
        handle = stack.client.get_workflow_handle(workflow_id_for(attempt_id), result_type=AttemptState)
        run_id = (await handle.describe()).run_id

        write_the_lost_tasks_decision(stack.sessions, attempt_id, run_id, "fail", "rita@lms")
        before = stored(stack.sessions, attempt_id)
        assert before["status"] == "completed"
        assert (await handle.query(AttemptWorkflow.state)).decision is None, "the run waits for the decision"
        assert not (await stack.api.post(f"/attempts/{attempt_id}/cancel")).is_success

        outcome = await reconcile.reconcile(stack.client, stack.sessions, attempt_id)

        assert outcome.action == "redelivered" and "(fail)" in outcome.message
        state = await handle.result()
        assert (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED
        assert (state.status.value, state.decision, state.decided_by) == ("completed", "fail", "rita@lms")
        assert state.completion is not None and not state.completion.lesson_success
        assert stored(stack.sessions, attempt_id) == before, "the run's write changed nothing"
        assert not (await reconcile.reconcile(stack.client, stack.sessions, attempt_id)).changed


def write_the_lost_tasks_decision(sessions, attempt_id: str, run_id: str, decision: str, by: str) -> None:
    """The decision's write as the run makes it (`_decide_and_complete`), at its next steps."""
    with sessions() as session:
        attempt = session.get(Attempt, attempt_id)
    key = AttemptKey(
        org_id=attempt.org_id,
        course_id=attempt.course_id,
        lesson_id=attempt.lesson_id,
        learner_id=attempt.learner_id,
        attempt_number=attempt.attempt_number,
    )
    seq, now, result = attempt.last_seq + 1, utcnow(), "passed" if decision == "pass" else "failed"

    def change(offset: int, event: str, status: str | None = None, **detail) -> StatusChange:
        return StatusChange(
            attempt_id=attempt_id,
            seq=seq + offset,
            event=event,
            status=status,
            at=now,
            run_id=run_id,
            detail=detail,
        )

    step = DecisionStep(
        decided=change(0, "decided", result, decision=decision, by=by),
        review=ReviewTaskChange(attempt_id=attempt_id, state=result, at=now, decided_by=by),
        completion=CompletionRequest(attempt_id=attempt_id, key=key, decision=decision, at=now),
        reported=[change(1, "lesson_completed"), change(2, "completed", "completed")],
    )
    with transaction(sessions) as session:
        record_decision(session, step)


def stored(sessions, attempt_id: str) -> dict:
    with sessions() as session:
        attempt = session.get(Attempt, attempt_id)
        events = session.exec(
            select(AttemptEvent).where(AttemptEvent.attempt_id == attempt_id).order_by(AttemptEvent.seq)
        ).all()
        task = session.exec(select(ReviewTask).where(ReviewTask.attempt_id == attempt_id)).one()
        return {
            "status": attempt.status,
            "steps": [(e.seq, e.event, e.status, e.run_id, e.detail) for e in events],
            "task": (task.state, task.decided_by),
        }
