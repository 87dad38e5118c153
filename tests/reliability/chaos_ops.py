"""Ops' hands in the chaos test (`test_chaos.py`): attempts' workflows terminated or reset while
the LMS drives them, and the database taken away for a minute.

Ops act on chosen attempts at chosen points of the LMS's script (`Driver.reached`), never at an
arbitrary instant: an attempt terminated while its workflow could still end on its own (its
decision written, its run not yet closed) has two right endings, and the test could not say
which one is owed. At the points `open_stages` lists, an attempt cannot end without the LMS's
next step, so ops race only what the workflow is busy with (its last signal, its bookkeeping,
its local activities) and the test knows how each attempt must end. Which attempts, at which
point, how long ops pause before acting, and where a reset goes back to are drawn from one seed
that the summary prints: `PROCTORFLOW_CHAOS_SEED=<seed>` draws the same ones again.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from sqlmodel import Session, col, select
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType, ResetReapplyType
from temporalio.api.workflowservice.v1 import ResetWorkflowExecutionRequest
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHistory
from temporalio.service import RPCError, RPCStatusCode

from models.payloads import workflow_id_for
from models.tables import (
    Attempt,
    AttemptEvent,
    LessonProgress,
    ReviewTask,
)
from store.db import SessionFactory
from tests.reliability.support import PASSED_QUIZ, Driver, LessonPlan

T = TypeVar("T")
Action = Literal["terminate", "reset", "reset_completed"]
# How the LMS meets an attempt whose workflow ops terminated: it opens the lesson again, sends
# its next message (the quiz result, or the reviewer's decision), or does nothing (ops'
# `proctorflow reconcile --all` ends it).
Then = Literal["reload", "message", "leave"]

TERMINATE_REASON = "chaos: terminated by ops from Temporal Web"
RESET_REASON = "chaos: reset by ops to an earlier workflow task"
COMPLETED_RESET_REASON = "chaos: a reviewer decided the wrong attempt"
MAX_PAUSE = 1.5  # seconds ops may take before acting: the workflow may be busy with the last step
TEMPORAL_PATIENCE = 90.0  # seconds a Temporal call is retried through a restart of the server
# What a Temporal call may answer while the server restarts: worth asking again.
TRANSIENT = frozenset(
    {RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.RESOURCE_EXHAUSTED}
)


# --- The plan: which attempts, where ---------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """One attempt ops act on: `action` when the LMS's script reaches `stage`."""

    learner: str
    lesson: LessonPlan
    action: Action
    stage: str
    then: Then | None = None  # terminate only

    def rng(self, seed: int) -> random.Random:
        """This target's own draws (pause, reset point): the same for a seed however the
        attempts interleave."""
        return random.Random(f"{seed}:{self.learner}:{self.lesson.id}")

    def describe(self) -> str:
        then = f", then {self.then}" if self.then else ""
        return f"{self.learner}/{self.lesson.id} at {self.stage}{then}"


def open_stages(lesson: LessonPlan) -> tuple[str, ...]:
    """The points of the script where the attempt is open and cannot end without the LMS's next
    step. A lesson that requires validation waits for its reviewer until the decision; one that
    completes on the exam result completes its lesson at FINISH, so only the points before it."""
    if not lesson.requires_validation:
        return ("opened", "session", "started", "result")
    audited = ("audited",) if lesson.method == "full" else ()
    return ("opened", "session", "started", "result", "finished", *audited, "ready")


def message_stages(lesson: LessonPlan) -> tuple[str, ...]:
    """Where the LMS's next message after a terminate is one it sends anyway: the quiz result
    before it was sent, the decision once the attempt is ready for it."""
    ready = ("ready",) if lesson.requires_validation else ()
    return ("opened", "session", "started", *ready)


def plan_targets(
    seed: int,
    learners: list[str],
    lessons: tuple[LessonPlan, ...],
    terminates: int,
    resets: int,
    completed_resets: int,
) -> dict[tuple[str, str], Target]:
    """Distinct attempts for each action, keyed by (learner, lesson id). Terminated attempts meet
    the LMS in each of the ways `Then` names (the first few in that order, the rest at random);
    an open attempt is reset once its ProctorFree session is known (a reset needs a completed
    workflow task to go back to); a completed attempt is reset only if a reviewer decided it (its
    history has a decision to go back before)."""
    rng = random.Random(seed)
    pairs = [(learner, lesson) for learner in learners for lesson in lessons]
    rng.shuffle(pairs)
    targets: list[Target] = []
    for index in range(terminates):
        learner, lesson = pairs.pop()
        then: Then = (
            ("leave", "message", "reload")[index] if index < 3 else rng.choice(("leave", "message", "reload"))
        )
        stages = message_stages(lesson) if then == "message" else open_stages(lesson)
        targets.append(Target(learner, lesson, "terminate", rng.choice(stages), then))
    for _ in range(resets):
        learner, lesson = pairs.pop()
        targets.append(Target(learner, lesson, "reset", rng.choice(open_stages(lesson)[1:])))
    decided = [pair for pair in pairs if pair[1].requires_validation]
    for learner, lesson in decided[:completed_resets]:
        targets.append(Target(learner, lesson, "reset_completed", "completed"))
    return {(target.learner, target.lesson.id): target for target in targets}


# --- What ops did ------------------------------------------------------------------------------


@dataclass
class Done:
    """What ops did to one attempt, and how it was reconciled."""

    target: Target
    attempt_id: str
    at: float  # seconds after the chaos began
    run_id: str  # the run ops terminated, or reset
    new_run_id: str | None = None  # a reset's new run
    reset_to: int | None = None  # the workflow task a reset went back to (its completed event id)
    reset_from: int | None = None  # the history's length when ops reset it
    reconciled_by: str | None = None  # "open", "exam result", "decision", "reconcile --all"
    projection: dict | None = None  # a completed attempt's projection, just before ops reset it

    @property
    def workflow_id(self) -> str:
        return workflow_id_for(self.attempt_id)

    def describe(self) -> str:
        if self.target.action == "terminate":
            return f"{self.at:.0f}s {self.target.describe()}: reconciled by {self.reconciled_by}"
        return f"{self.at:.0f}s {self.target.describe()}: back to event {self.reset_to} of {self.reset_from}"


class Terminated(Exception):
    """Raised into the LMS's script of an attempt whose workflow ops just terminated."""

    def __init__(self, done: Done) -> None:
        super().__init__(done.target.describe())
        self.done = done


# --- Ops, on Temporal --------------------------------------------------------------------------


@dataclass
class Ops:
    """What ops do from Temporal Web or `temporal workflow`, retried through a Temporal restart
    (the chaos crashes the server): terminate a run, reset one to an earlier workflow task."""

    client: Client

    async def terminate(self, workflow_id: str) -> str:
        """Terminate the running run; its run id. Asked again after a restart, a terminate that
        went through is found done."""
        run_id = await self.running_run(workflow_id)
        handle = self.client.get_workflow_handle(workflow_id, run_id=run_id)
        try:
            await through_restarts(lambda: handle.terminate(reason=TERMINATE_REASON))
        except RPCError as error:
            if error.status != RPCStatusCode.NOT_FOUND:
                raise
        status = (await through_restarts(handle.describe)).status
        assert status == WorkflowExecutionStatus.TERMINATED, (workflow_id, status)
        return run_id

    async def reset(
        self,
        workflow_id: str,
        point: Callable[[WorkflowHistory], int | None],
        reason: str,
        reapply: ResetReapplyType.ValueType = ResetReapplyType.RESET_REAPPLY_TYPE_SIGNAL,
    ) -> tuple[str, str, int, int]:
        """Reset the latest run to the workflow task `point` picks from its history (waiting while
        it has none: the first one is under way); (old run, new run, event id, history length).
        One request id for every try: Temporal does a retried reset once."""
        described = await through_restarts(self.client.get_workflow_handle(workflow_id).describe)
        handle = self.client.get_workflow_handle(workflow_id, run_id=described.run_id)
        while True:
            history = await through_restarts(handle.fetch_history)
            if (event_id := point(history)) is not None:
                break
            await asyncio.sleep(0.5)
        request = ResetWorkflowExecutionRequest(
            namespace=self.client.namespace,
            workflow_execution=WorkflowExecution(workflow_id=workflow_id, run_id=described.run_id),
            reason=reason,
            workflow_task_finish_event_id=event_id,
            request_id=str(uuid.uuid4()),
            reset_reapply_type=reapply,
        )
        reply = await through_restarts(lambda: self.client.workflow_service.reset_workflow_execution(request))
        return described.run_id, reply.run_id, event_id, len(history.events)

    async def running_run(self, workflow_id: str) -> str:
        described = await through_restarts(self.client.get_workflow_handle(workflow_id).describe)
        assert described.status == WorkflowExecutionStatus.RUNNING, (workflow_id, described.status)
        return described.run_id

    async def until_closed(self, workflow_id: str, patience: float = 60.0) -> None:
        """Until the latest run has closed: the driver saw `completed` in the database, and the
        run closes with its next workflow task."""
        handle = self.client.get_workflow_handle(workflow_id)
        deadline = time.monotonic() + patience
        while (await through_restarts(handle.describe)).status == WorkflowExecutionStatus.RUNNING:
            assert time.monotonic() < deadline, f"{workflow_id} still running {patience}s after it completed"
            await asyncio.sleep(0.5)


async def through_restarts(call: Callable[[], Awaitable[T]]) -> T:
    """`call`, asked again while Temporal answers that it is restarting."""
    deadline = time.monotonic() + TEMPORAL_PATIENCE
    while True:
        try:
            return await call()
        except RPCError as error:
            if error.status not in TRANSIENT or time.monotonic() > deadline:
                raise
        await asyncio.sleep(0.5)


def completed_tasks(history: WorkflowHistory) -> list[int]:
    """The event ids of the history's completed workflow tasks: where a reset may go back to."""
    return [
        e.event_id for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
    ]


def earlier_task(rng: random.Random) -> Callable[[WorkflowHistory], int | None]:
    """A reset point: any completed workflow task but the last (one to redo at least), or the
    only one."""

    def pick(history: WorkflowHistory) -> int | None:
        done = completed_tasks(history)
        return rng.choice(done[:-1] or done) if done else None

    return pick


def before_the_decision(history: WorkflowHistory) -> int | None:
    """The last completed workflow task before the reviewer's decision (an Update, or the
    `submit_decision` signal): what ops reset to when a reviewer decided the wrong attempt."""
    decision = next(
        (
            e.event_id
            for e in history.events
            if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
            or (
                e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
                and e.workflow_execution_signaled_event_attributes.signal_name == "submit_decision"
            )
        ),
        None,
    )
    assert decision is not None, f"{history.workflow_id}: no decision in its history"
    return max(event_id for event_id in completed_tasks(history) if event_id < decision)


# --- The LMS, with ops stepping in ---------------------------------------------------------------


@dataclass
class ChaosDriver(Driver):
    """`Driver`, with ops acting on the planned attempts when their script reaches the planned
    point: a terminated attempt's script stops there and the LMS meets the ended attempt its
    planned way; a reset one carries on (its new run must finish it); a completed one is reset to
    before its decision, and the LMS has nothing more to do."""

    ops: Ops | None = None
    sessions: SessionFactory | None = None
    targets: dict[tuple[str, str], Target] = field(default_factory=dict)
    seed: int = 0
    began: float = field(default_factory=time.monotonic)
    done: list[Done] = field(default_factory=list)
    _chosen: dict[str, Target] = field(default_factory=dict)  # attempt id -> its target, until acted on

    async def take(
        self,
        learner: str,
        lesson: LessonPlan,
        fail: bool,
        quiz: dict = PASSED_QUIZ,
        late_result: bool = False,
    ) -> str:
        try:
            return await super().take(learner, lesson, fail, quiz, late_result)
        except Terminated as ended:
            await self.meet_ended_attempt(ended.done, quiz)
            return ended.done.attempt_id

    async def open(self, learner: str, lesson_id: str) -> str:
        attempt_id = await super().open(learner, lesson_id)
        if (target := self.targets.get((learner, lesson_id))) is not None:
            self._chosen[attempt_id] = target
        return attempt_id

    async def reached(self, attempt_id: str, stage: str) -> None:
        """Ops act on a planned attempt at its planned point, once, after a pause of their own
        (the workflow may still be busy with the LMS's last step)."""
        target = self._chosen.get(attempt_id)
        if target is None or target.stage != stage:
            return
        del self._chosen[attempt_id]
        rng = target.rng(self.seed)
        await asyncio.sleep(rng.uniform(0.0, MAX_PAUSE))
        act = {"terminate": self._terminate, "reset": self._reset, "reset_completed": self._reset_completed}
        done = await act[target.action](target, attempt_id, rng)
        self.done.append(done)
        if target.action == "terminate":
            raise Terminated(done)

    async def _terminate(self, target: Target, attempt_id: str, rng: random.Random) -> Done:
        assert self.ops is not None
        run_id = await self.ops.terminate(workflow_id_for(attempt_id))
        return Done(target, attempt_id, self._now(), run_id)

    async def _reset(self, target: Target, attempt_id: str, rng: random.Random) -> Done:
        """Reset an open attempt to an earlier workflow task; the LMS carries on as before, and
        the new run must finish the attempt."""
        assert self.ops is not None
        self.rewound.add(attempt_id)  # its review task may vanish for a moment
        old, new, event_id, length = await self.ops.reset(
            workflow_id_for(attempt_id), earlier_task(rng), RESET_REASON
        )
        return Done(
            target, attempt_id, self._now(), old, new_run_id=new, reset_to=event_id, reset_from=length
        )

    async def _reset_completed(self, target: Target, attempt_id: str, rng: random.Random) -> Done:
        """Reset a completed attempt, its run closed, to before the reviewer's decision, reapplying
        nothing: the new run waits for a decision that never comes, as after ops reset it to decide
        again (`reconcile` ends it, see `starter.reconcile`). The projection is kept to compare."""
        assert self.ops is not None and self.sessions is not None
        workflow_id = workflow_id_for(attempt_id)
        await self.ops.until_closed(workflow_id)
        projection = await asyncio.to_thread(projection_of, self.sessions, attempt_id)
        old, new, event_id, length = await self.ops.reset(
            workflow_id, before_the_decision, COMPLETED_RESET_REASON, ResetReapplyType.RESET_REAPPLY_TYPE_NONE
        )
        return Done(
            target,
            attempt_id,
            self._now(),
            old,
            new_run_id=new,
            reset_to=event_id,
            reset_from=length,
            projection=projection,
        )

    async def meet_ended_attempt(self, done: Done, quiz: dict) -> None:
        """The LMS meets an attempt whose workflow ops terminated, the planned way; each way but
        `leave` reconciles it at once: expired, its last step `abandoned`."""
        target, attempt_id = done.target, done.attempt_id
        if target.then == "leave":
            return  # `reconcile --all` finds it
        if target.then == "reload":
            reply = await self.open_lesson(target.learner, target.lesson.id)
            assert reply["status"] == "expired", (target.describe(), reply)
            done.reconciled_by = "open"
        elif target.stage == "ready":
            await self.refused_decision(done)
            done.reconciled_by = "decision"
        else:
            path = f"/attempts/{attempt_id}/exam-result"
            await self.call("POST", path, {409}, "exam-result on a terminated attempt", json=quiz)
            done.reconciled_by = "exam result"
        await self.wait_for(attempt_id, abandoned)

    async def refused_decision(self, done: Done) -> None:
        """The reviewer decides an attempt whose workflow was terminated: 409, saying why."""
        target, attempt_id = done.target, done.attempt_id
        if target.lesson.required:
            task = (await self.attempt(attempt_id))["review_task"]
            path, method = f"/review-tasks/{task['id']}/decision", "POST"
            body: dict[str, Any] = {"decision": "pass", "reviewer": "chaos-reviewer"}
        else:
            path = f"/courses/{self.course_id}/learners/{target.learner}/lessons/{target.lesson.id}"
            method = "PATCH"
            body = {"proctoring_result": "passed", "reason": "spot check", "changed_by": "chaos-reviewer"}
        reply = await self.call(method, path, {409}, "decision on a terminated attempt", json=body)
        assert reply is not None
        self.tally.conflicts[reply.json()["error"]["message"][:60]] += 1

    def of(self, *actions: Action) -> dict[str, Done]:
        """What ops did, by attempt id, for the given actions."""
        return {d.attempt_id: d for d in self.done if d.target.action in actions}

    def _now(self) -> float:
        return time.monotonic() - self.began


def abandoned(attempt: dict) -> bool:
    """The LMS's view of an attempt reconciled after its workflow closed."""
    return attempt["status"] == "expired" and attempt["events"][-1]["event"] == "abandoned"


def projection_of(sessions: SessionFactory, attempt_id: str) -> dict:
    """What the projection holds of one attempt's own story: the attempt, its steps, its review
    task, its lesson's completion. (The learner's course and certificate are not its alone: the
    learner's other lessons move them.)"""
    with sessions() as session:
        attempt = session.get(Attempt, attempt_id)
        assert attempt is not None
        task = session.exec(select(ReviewTask).where(ReviewTask.attempt_id == attempt_id)).first()
        lesson = session.get(
            LessonProgress, (attempt.org_id, attempt.course_id, attempt.lesson_id, attempt.learner_id)
        )
        return {
            "attempt": attempt.model_dump(),
            "events": [e.model_dump() for e in events_of(session, attempt_id)],
            "task": task.model_dump() if task is not None else None,
            "lesson": lesson.model_dump() if lesson is not None else None,
        }


def events_of(session: Session, attempt_id: str) -> list[AttemptEvent]:
    return list(
        session.exec(
            select(AttemptEvent).where(AttemptEvent.attempt_id == attempt_id).order_by(col(AttemptEvent.seq))
        ).all()
    )
