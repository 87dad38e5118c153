"""Issue 20, case 6: ops reset an attempt's workflow.

A reset starts a new run of the same workflow from an earlier point of its history; Temporal
ends the old run. Before, the projection knew no runs: the new run's steps met the old run's
under the same step numbers and were compared by history length (which only means something
within one run), the writes not keyed by step number (the review task) were never rewound, and a
reset completed attempt waited for a decision the API never forwards.

Now every step names its run, and the attempt the run that owns its story: a newer run takes
over from its first step, rewinding what the superseded run wrote from there (the review task
too); a superseded run's late write is ignored; and a reset over a decision or a completion is
refused (`ResetRefused`, the workflow run ends with the reason), while `reconcile` terminates a
reset run of a completed attempt that waits without writing.

The store's side on a real database; the whole of it on the real Temporal dev server."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType, ResetReapplyType
from temporalio.api.workflowservice.v1 import ResetWorkflowExecutionRequest
from temporalio.client import WorkflowExecutionStatus
from temporalio.exceptions import ApplicationError

from activities import errors
from activities.records import RecordActivities
from models.api import CourseIn, CourseSettingsIn, LessonIn
from models.payloads import (
    AttemptKey,
    CompletionRequest,
    DecisionStep,
    ReviewTaskChange,
    StatusChange,
    StepBatch,
    workflow_id_for,
)
from models.rules import RESET_CANNOT_UNDO
from models.tables import Attempt, AttemptEvent, LessonProgress, ReviewTask
from starter import reconcile
from store import catalog
from store.db import SessionFactory, make_engine, session_factory, transaction
from store.records import ResetRefused, record_decision, record_steps
from tests.api.helpers import learner_takes_exam, open_attempt, proctored_course, review_task_of, unique
from tests.store.attempts import add_attempt
from tests.support.database import fresh_database_url
from tests.support.stack import running_stack

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
KEY = AttemptKey(org_id="o", course_id="c", lesson_id="l", learner_id="p", attempt_number=1)


@pytest.fixture
def sessions(tmp_path) -> SessionFactory:
    """A course whose one required lesson is fully proctored with validation on, and its
    attempt `a1`, opened, with a passed quiz stored."""
    engine = make_engine(fresh_database_url(tmp_path))
    factory = session_factory(engine)
    with transaction(factory) as session:
        catalog.ensure_organisation(session, "o", "Org")
        lesson = LessonIn(id="l", title="Final", type="quiz", required=True)
        body = CourseIn(title="Course", lessons=[lesson], settings=CourseSettingsIn(certificate=True))
        catalog.put_course(session, "o", "c", body)
        add_attempt(session, KEY, exam_score=88, attempt_id="a1", status="created", method="full")
        session.add(AttemptEvent(attempt_id="a1", seq=0, at=T0, event="opened", status="created"))
    yield factory
    engine.dispose()


def step(
    run: str, seq: int, event: str, status: str | None = None, length: int = 10, **detail
) -> StatusChange:
    return StatusChange(
        attempt_id="a1",
        seq=seq,
        event=event,
        status=status,
        run_id=run,
        history_length=length,
        at=T0 + timedelta(minutes=seq),
        detail=detail,
    )


def review(state: str, seq: int, **more) -> ReviewTaskChange:
    return ReviewTaskChange(attempt_id="a1", state=state, at=T0 + timedelta(minutes=seq), **more)


def write(
    sessions: SessionFactory, *changes: StatusChange, reviews: tuple[ReviewTaskChange, ...] = ()
) -> None:
    with transaction(sessions) as session:
        record_steps(session, StepBatch(changes=list(changes), reviews=list(reviews)))


def audited_and_ready(sessions: SessionFactory, run: str = "run-1") -> None:
    """Run 1's story up to a flagged audit: the task is ready for review, flagged."""
    write(sessions, step(run, 1, "vendor_session_created", "awaiting_setup", length=8))
    write(
        sessions,
        step(run, 2, "learner_finished", "finished", length=20),
        step(run, 3, "awaiting_audit", "awaiting_audit", length=20),
        reviews=(review("not_ready", 3),),
    )
    write(
        sessions,
        step(run, 4, "audit", length=30, outcome="flagged", escalated=False),
        step(run, 5, "ready_for_review", "ready_for_review", length=30),
        reviews=(review("ready_for_review", 5, flagged=True, audit_outcome="flagged"),),
    )


def decision(run: str, seq: int, choice: str = "pass", length: int = 40) -> DecisionStep:
    status = "passed" if choice == "pass" else "failed"
    return DecisionStep(
        decided=step(run, seq, "decided", status, length=length, decision=choice, by="rita"),
        review=review(status, seq, decided_by="rita"),
        completion=CompletionRequest(attempt_id="a1", key=KEY, decision=choice, at=T0 + timedelta(hours=1)),
        reported=[
            step(run, seq + 1, "lesson_completed", length=length),
            step(run, seq + 2, "completed", "completed", length=length),
        ],
    )


def snapshot(sessions: SessionFactory) -> dict:
    """Everything the projection holds about a1."""
    with sessions() as session:
        attempt = session.get(Attempt, "a1")
        events = session.exec(select(AttemptEvent).order_by(AttemptEvent.seq)).all()
        task = session.exec(select(ReviewTask)).first()
        lesson = session.exec(select(LessonProgress)).first()
        return {
            "attempt": (attempt.status, attempt.run_id, attempt.last_seq),
            "events": [(e.seq, e.event, e.status, e.run_id, e.history_length) for e in events],
            "task": task.model_dump() if task else None,
            "lesson": lesson.model_dump() if lesson else None,
        }


def steps(sessions: SessionFactory) -> list[tuple[int, str, str | None]]:
    return [(seq, event, run) for seq, event, _, run, _ in snapshot(sessions)["events"]]


# --- The store ------------------------------------------------------------------------------


def test_a_new_runs_step_over_a_superseded_runs_decision_is_refused_and_changes_nothing(sessions):
    """Ops reset a completed attempt to before its decision (a reviewer failed the wrong one):
    the new run's first write is refused with the way to change a result; nothing moves."""
    audited_and_ready(sessions)
    with transaction(sessions) as session:
        record_decision(session, decision("run-1", 6))
    before = snapshot(sessions)

    for reset_step in (
        step("run-2", 6, "decided", "failed", length=90, decision="fail", by="rita"),  # over the decision
        step("run-2", 9, "decision_ignored", length=90),  # after it: the attempt is completed
    ):
        with pytest.raises(ResetRefused) as refused, transaction(sessions) as session:
            record_steps(session, StepBatch(changes=[reset_step]))
        assert str(refused.value) == (
            "attempt a1 was completed by an earlier run of its workflow: a reset cannot undo a decision "
            "or a completion; change the proctoring result from the learner's course progress"
        )
    with pytest.raises(ResetRefused), transaction(sessions) as session:
        record_decision(session, decision("run-2", 6, "fail", length=90))

    assert snapshot(sessions) == before
    assert before["attempt"] == ("completed", "run-1", 8)


def test_the_refusal_fails_the_write_for_good_with_its_own_type(sessions):
    """The local activity fails without retries: the workflow ends its run with the reason."""
    audited_and_ready(sessions)
    with transaction(sessions) as session:
        record_decision(session, decision("run-1", 6))

    with pytest.raises(ApplicationError) as failed:
        RecordActivities(sessions).record_steps(StepBatch(changes=[step("run-2", 6, "ready_for_review")]))

    assert failed.value.type == errors.RESET_REFUSED and failed.value.non_retryable
    assert "a reset cannot undo a decision or a completion" in failed.value.message


def test_a_new_run_over_an_open_attempt_rewinds_the_superseded_runs_steps_and_the_review_task(sessions):
    """Reset to before a flagged audit: the new run owns the attempt from its first step; the
    old run's audit and ready steps are gone, and so are the task's readiness and flag."""
    audited_and_ready(sessions)

    write(sessions, step("run-2", 4, "exam_result", length=35, score=88, passed=True))

    after = snapshot(sessions)
    assert steps(sessions) == [
        (0, "opened", None),
        (1, "vendor_session_created", "run-1"),
        (2, "learner_finished", "run-1"),
        (3, "awaiting_audit", "run-1"),
        (4, "exam_result", "run-2"),
    ]
    assert after["attempt"] == ("awaiting_audit", "run-2", 4)
    task = after["task"]
    assert (task["state"], task["flagged"], task["audit_outcome"], task["ready_at"]) == (
        "not_ready",
        False,
        None,
        None,
    )

    # The new run's audit lands clean: the task is ready, not flagged (no flag left over).
    write(
        sessions,
        step("run-2", 5, "audit", length=40, outcome="clean", escalated=False),
        step("run-2", 6, "ready_for_review", "ready_for_review", length=40),
        reviews=(review("ready_for_review", 6, audit_outcome="clean"),),
    )
    task = snapshot(sessions)["task"]
    assert (task["state"], task["flagged"], task["audit_outcome"]) == ("ready_for_review", False, "clean")


def test_a_new_run_from_before_finish_takes_the_review_task_away(sessions):
    """ "Tasks are only created for lessons that are required", once the learner finished:
    a run reset to before FINISH has no task until its learner finishes again."""
    audited_and_ready(sessions)

    write(sessions, step("run-2", 2, "learner_started", "in_progress", length=25))

    after = snapshot(sessions)
    assert after["task"] is None
    assert after["attempt"] == ("in_progress", "run-2", 2)


def test_history_lengths_compare_only_within_one_run(sessions):
    """A new run's history is another history: its step is not 'written earlier' because its
    length is shorter than the superseded run's under the same seq."""
    audited_and_ready(sessions)

    write(sessions, step("run-2", 5, "parked", "error", length=12))

    assert steps(sessions)[-1] == (5, "parked", "run-2")
    assert snapshot(sessions)["attempt"] == ("error", "run-2", 5)


def test_a_superseded_runs_late_write_is_ignored(sessions):
    """The old run's local activity finishes its write after the new run took over: whether
    under the new run's step numbers or past them, and a decision's whole write, nothing lands."""
    audited_and_ready(sessions)
    write(sessions, step("run-2", 4, "exam_result", length=35, score=88, passed=True))
    before = snapshot(sessions)

    write(sessions, step("run-1", 4, "audit", length=50, outcome="clean"))
    write(sessions, step("run-1", 7, "ready_for_review", "ready_for_review", length=50))
    with transaction(sessions) as session:
        report = record_decision(session, decision("run-1", 6, length=60))

    assert snapshot(sessions) == before
    assert not report.lesson_success and not report.course_completed


def test_a_run_superseded_from_its_first_step_on_is_still_known_for_its_late_writes(sessions):
    """`temporal workflow reset --type FirstWorkflowTask`: the new run rewrites the story from
    its first step, so none of the old run's steps is left; its late writes are ignored all the
    same, never taken for a newer run's."""
    audited_and_ready(sessions)
    write(sessions, step("run-2", 1, "vendor_session_created", "awaiting_setup", length=12))
    before = snapshot(sessions)
    assert [run for _, _, run in steps(sessions)] == [None, "run-2"] and before["task"] is None

    write(sessions, step("run-1", 6, "exam_result", length=50, score=88, passed=True))
    write(sessions, step("run-1", 2, "learner_started", "in_progress", length=50))

    assert snapshot(sessions) == before
    with sessions() as session:
        assert session.get(Attempt, "a1").superseded_runs == ["run-1"]


# --- On the dev server ----------------------------------------------------------------------


async def test_reconcile_terminates_a_reset_run_of_a_completed_attempt_and_the_projection_stays(
    dev_server, tmp_path
):
    """Ops reset a completed attempt's workflow to before the reviewer's decision: the new run
    waits for a decision the API never forwards (the database says completed). `reconcile`
    terminates it with the reason; the attempt, its steps, task and lesson stay as they were."""
    async with running_stack(dev_server.client, tmp_path) as stack:
        course_id, _ = await proctored_course(stack.api)  # record only, validation on
        attempt_id = (await open_attempt(stack.api, course_id, unique("learner")))["attempt_id"]
        await learner_takes_exam(stack, attempt_id)
        task = await review_task_of(stack, attempt_id, "ready_for_review")
        decided = await stack.api.post(
            f"/review-tasks/{task['id']}/decision", json={"decision": "fail", "reviewer": "rita@lms"}
        )
        assert decided.status_code == 200, decided.text
        handle = stack.client.get_workflow_handle(workflow_id_for(attempt_id))
        await handle.result()
        before = await stack.api.get(f"/attempts/{attempt_id}")
        with stack.sessions() as session:
            first_run = session.get(Attempt, attempt_id).run_id
        assert first_run == (await handle.describe()).run_id

        new_run = await reset_to_before_the_decision(stack.client, handle)
        running = stack.client.get_workflow_handle(handle.id, run_id=new_run)
        assert (await running.describe()).status == WorkflowExecutionStatus.RUNNING

        outcome = await reconcile.reconcile(stack.client, stack.sessions, attempt_id)

        assert outcome.action == "terminated" and outcome.run.run_id == new_run
        described = await running.describe()
        assert described.status == WorkflowExecutionStatus.TERMINATED
        history = await running.fetch_history()
        terminated = next(
            e for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED
        )
        assert terminated.workflow_execution_terminated_event_attributes.reason == RESET_CANNOT_UNDO
        after = await stack.api.get(f"/attempts/{attempt_id}")
        assert after.json() == before.json()
        with stack.sessions() as session:
            assert session.get(Attempt, attempt_id).run_id == first_run
        assert not (await reconcile.reconcile(stack.client, stack.sessions, attempt_id)).changed


async def reset_to_before_the_decision(client, handle) -> str:
    """`temporal workflow reset` to the last workflow task before the reviewer's decision,
    reapplying nothing (the decision is not sent again); returns the new run's id."""
    history = await handle.fetch_history()
    decision_at = next(
        e.event_id
        for e in history.events
        if e.event_type
        in (
            EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
            EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
        )
        and (
            e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
            or e.workflow_execution_signaled_event_attributes.signal_name == "submit_decision"
        )
    )
    task_done = max(
        e.event_id
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED and e.event_id < decision_at
    )
    reply = await client.workflow_service.reset_workflow_execution(
        ResetWorkflowExecutionRequest(
            namespace=client.namespace,
            workflow_execution=WorkflowExecution(workflow_id=handle.id),
            reason="a reviewer failed the wrong attempt",
            workflow_task_finish_event_id=task_done,
            request_id=str(uuid.uuid4()),
            reset_reapply_type=ResetReapplyType.RESET_REAPPLY_TYPE_NONE,
        )
    )
    return reply.run_id
