"""Helpers for the reliability tests: a Temporal dev server that can be crashed and started
again on its own database file and ports, and a worker process that can be SIGKILLed and
started again (both `cli.processes.Child`ren, each in its own process group, so a kill
reaches all of it); and the LMS, its learners and a reviewer, scripted, as a client that
retries what a restart may answer."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from temporalio.client import Client

from cli.dev_layout import DevOptions, child_environment, temporal_command
from cli.processes import Child, port_open
from proctorflow.settings import Settings
from proctorflow.temporal import connect, register_search_attributes
from proctorfree.emulator.faults import FaultPlan, Faults
from tests.support.servers import free_port
from workflows.search_attributes import ALL as SEARCH_ATTRIBUTES

STARTUP_TIMEOUT = 60.0
STOP_GRACE = 10.0


def _kill(child: Child) -> None:
    """SIGKILL, as the OOM killer or a lost host would: no shutdown code runs."""
    child.signal(signal.SIGKILL)
    child.process.wait()
    child.finish_output()


def _stop(child: Child) -> None:
    child.signal(signal.SIGTERM)
    try:
        child.process.wait(timeout=STOP_GRACE)
    except subprocess.TimeoutExpired:
        child.signal(signal.SIGKILL)
        child.process.wait()
    child.finish_output()


class TemporalServer:
    """`temporal server start-dev` (the command `make dev` runs) with its state in a file, so it
    can be killed and started again where it was."""

    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir = data_dir
        self.port, self.ui_port = free_port(), free_port()
        self._child: Child | None = None
        self.restarts = 0

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def start(self, settings: Settings) -> Client:
        """Start it, wait until it answers, register ProctorFlow's search attributes."""
        options = DevOptions(
            http_port=settings.http_port,
            emulator_port=settings.emulator_port,
            temporal_port=self.port,
            ui_port=self.ui_port,
            data_dir=self.data_dir,
        )
        self._child = Child("temporal", temporal_command(options, settings), dict(os.environ))
        client = await self._connect_when_up(settings)
        await register_search_attributes(client, SEARCH_ATTRIBUTES)
        return client

    async def crash_and_restart(self, settings: Settings) -> None:
        assert self._child is not None
        _kill(self._child)
        await self.start(settings)
        self.restarts += 1

    def stop(self) -> None:
        if self._child is not None:
            _stop(self._child)
            self._child = None

    async def _connect_when_up(self, settings: Settings) -> Client:
        deadline = asyncio.get_running_loop().time() + STARTUP_TIMEOUT
        while True:
            assert self._child is not None and self._child.exit_code() is None, "Temporal died at start"
            if port_open(self.port):
                try:
                    return await connect(settings, address=self.address)
                except RuntimeError:
                    pass
            if asyncio.get_running_loop().time() > deadline:
                raise RuntimeError(f"Temporal did not answer on {self.address} within {STARTUP_TIMEOUT}s")
            await asyncio.sleep(0.2)


class WorkerProcess:
    """`proctorflow worker` as its own process, killed and started again at will."""

    def __init__(self, settings: Settings) -> None:
        self._env = child_environment(settings)
        self._child: Child | None = None
        self.starts = 0
        self.kills = 0

    def start(self) -> None:
        self._child = Child("worker", [sys.executable, "-m", "cli", "worker"], self._env)
        self.starts += 1

    def alive(self) -> bool:
        return self._child is not None and self._child.exit_code() is None

    def kill(self) -> None:
        assert self._child is not None
        _kill(self._child)
        self.kills += 1

    def stop(self) -> None:
        if self._child is not None:
            _stop(self._child)
            self._child = None


def injected_faults(faults: Faults, calls_since_set: int) -> Counter[str]:
    """The faults the emulator injected into its last `calls_since_set` API calls: its plan is
    seeded, so replaying the same plan over as many calls draws the same faults."""
    plan = FaultPlan(faults)
    drawn = (plan.next_fault() for _ in range(calls_since_set))
    return Counter(kind for kind in drawn if kind is not None)


# --- The LMS, its learners and a reviewer, scripted ----------------------------------------


@dataclass(frozen=True)
class LessonPlan:
    id: str
    method: str
    required: bool
    requires_validation: bool


LESSONS = (
    LessonPlan("final", "full", required=True, requires_validation=True),  # audit, then review task
    LessonPlan("recorded", "record_only", required=True, requires_validation=False),  # task; result completes
    LessonPlan("practice", "practice", required=False, requires_validation=False),  # no task
    LessonPlan("spot-check", "record_only", required=False, requires_validation=True),  # decided in progress
)
DECIDED = {"passed", "failed", "completed"}
PASSED_QUIZ = {"score": 88, "passed": True}
# The points of `Driver.take`'s script, in order, where ops may step in (`Driver.reached`).
STAGES = ("opened", "session", "started", "result", "finished", "audited", "ready", "completed")


def learner_ids(count: int) -> list[str]:
    return [f"learner-{i:03d}" for i in range(count)]


@dataclass
class Tally:
    server_errors: Counter[str] = field(default_factory=Counter)
    transport_errors: Counter[str] = field(default_factory=Counter)
    conflicts: Counter[str] = field(default_factory=Counter)


@dataclass
class Driver:
    """The LMS, its learners (through ProctorFree's control API) and a reviewer, scripted. Like a
    well-made client it retries, with backoff, what a restart may answer (a 5xx, a dropped
    connection), and fails on any 4xx it did not expect."""

    api: httpx.AsyncClient
    vendor: httpx.AsyncClient
    course_id: str
    tally: Tally
    deadline: float  # time.monotonic() past which the script gives up
    rewound: set[str] = field(default_factory=set)  # attempts whose workflow ops reset

    async def take(
        self,
        learner: str,
        lesson: LessonPlan,
        fail: bool,
        quiz: dict = PASSED_QUIZ,
        late_result: bool = False,
    ) -> str:
        """One attempt from the first page load to its completion; returns its id. `late_result`:
        the LMS sends the quiz result only after the reviewer's decision (the workflow waits for it
        before it completes the lesson)."""
        attempt_id = await self.open(learner, lesson.id)
        await self.reached(attempt_id, "opened")
        session_id = await self.learner_takes_exam(attempt_id, None if late_result else quiz)
        if lesson.method == "full":
            await self.control("audit", session_id, outcome="clean")
            await self.reached(attempt_id, "audited")
        decision = "fail" if fail else "pass"
        if lesson.required:
            await self.decide_task(attempt_id, decision)
        elif lesson.requires_validation:
            await self.decide_in_progress(attempt_id, learner, lesson, decision)
        if late_result:
            await self.send_exam_result(attempt_id, quiz)
        await self.wait_for(attempt_id, lambda a: a["status"] == "completed")
        await self.reached(attempt_id, "completed")
        return attempt_id

    async def reached(self, attempt_id: str, stage: str) -> None:
        """A point of the script (a name in `STAGES`) where ops may step in: nothing here; the
        chaos test's driver acts on the attempts it chose."""

    async def open(self, learner: str, lesson_id: str) -> str:
        """The learner opens the lesson page: the LMS calls "lesson opened"."""
        return (await self.open_lesson(learner, lesson_id))["attempt_id"]

    async def open_lesson(self, learner: str, lesson_id: str) -> dict:
        """ "Lesson opened", as the LMS sends it on every page load; its reply."""
        person = {"id": learner, "name": f"Learner {learner}", "email": f"{learner}@example.org"}
        body = {"course_id": self.course_id, "lesson_id": lesson_id, "learner": person, "attempt_number": 1}
        opened = await self.call("POST", "/attempts/open", {200}, "open", json=body)
        assert opened is not None
        return opened.json()

    async def learner_takes_exam(self, attempt_id: str, quiz: dict | None = PASSED_QUIZ) -> str:
        """Confirm and start in ProctorFree, the LMS reports the quiz (unless `quiz` is None: it
        comes later), FINISH; returns the session."""
        attempt = await self.wait_for(attempt_id, lambda a: a["vendor_session_id"] is not None)
        session_id = attempt["vendor_session_id"]
        await self.reached(attempt_id, "session")
        await self.control("start", session_id)
        await self.reached(attempt_id, "started")
        if quiz is not None:
            await self.send_exam_result(attempt_id, quiz)
        await self.reached(attempt_id, "result")
        await self.control("finish", session_id)
        await self.reached(attempt_id, "finished")
        return session_id

    async def send_exam_result(self, attempt_id: str, quiz: dict) -> None:
        await self.call("POST", f"/attempts/{attempt_id}/exam-result", {202}, "exam-result", json=quiz)

    async def decide_task(self, attempt_id: str, decision: str) -> None:
        attempt = await self.wait_for(
            attempt_id, lambda a: (a["review_task"] or {}).get("state") == "ready_for_review"
        )
        await self.reached(attempt_id, "ready")
        body = {"decision": decision, "reviewer": "chaos-reviewer"}
        await self._decide("POST", f"/review-tasks/{attempt['review_task']['id']}/decision", body, attempt_id)

    async def decide_in_progress(
        self, attempt_id: str, learner: str, lesson: LessonPlan, decision: str
    ) -> None:
        """An optional lesson that requires validation has no task: its proctoring column decides."""
        await self.wait_for(attempt_id, lambda a: a["status"] == "ready_for_review")
        await self.reached(attempt_id, "ready")
        body = {"proctoring_result": f"{decision}ed", "reason": "spot check", "changed_by": "chaos-reviewer"}
        path = f"/courses/{self.course_id}/learners/{learner}/lessons/{lesson.id}"
        await self._decide("PATCH", path, body, attempt_id)

    async def _decide(self, method: str, path: str, body: dict, attempt_id: str) -> None:
        """Retried only while the attempt shows no decision: a retry after a lost reply must not
        become a second decision. An attempt whose workflow ops reset (`rewound`) may have its
        review task rewound away for a moment (404) until its new run catches up: asked again."""

        async def decided() -> bool:
            return (await self.attempt(attempt_id))["status"] in DECIDED

        ok = {200, 409, 404} if attempt_id in self.rewound else {200, 409}
        while True:
            reply = await self.call(method, path, ok, "decision", json=body, settled=decided)
            if reply is None or reply.status_code == 200:
                return
            self.tally.conflicts[reply.json()["error"]["message"][:60]] += 1
            if await decided():
                return
            await asyncio.sleep(1.0)

    async def call(
        self,
        method: str,
        path: str,
        ok: set[int],
        what: str,
        json: Any = None,
        settled: Callable[[], Awaitable[bool]] | None = None,
    ) -> httpx.Response | None:
        delay = 0.25
        while True:
            try:
                reply = await self.api.request(method, path, json=json)
            except httpx.TransportError as error:
                self.tally.transport_errors[f"{type(error).__name__} on {what}"] += 1
            else:
                if reply.status_code in ok:
                    return reply
                assert reply.status_code >= 500, f"{method} {path}: {reply.status_code} {reply.text}"
                self.tally.server_errors[f"{reply.status_code} on {what}"] += 1
            self._within_budget(f"{method} {path}")
            await asyncio.sleep(delay)
            delay = min(delay * 2, 4.0)
            if settled is not None and await settled():
                return None

    async def attempt(self, attempt_id: str) -> dict:
        reply = await self.call("GET", f"/attempts/{attempt_id}", {200}, "GET attempt")
        assert reply is not None
        return reply.json()

    async def wait_for(self, attempt_id: str, predicate: Callable[[dict], bool]) -> dict:
        while True:
            attempt = await self.attempt(attempt_id)
            if predicate(attempt):
                return attempt
            self._within_budget(f"attempt {attempt_id} {attempt['lesson_id']} is {attempt['status']}")
            await asyncio.sleep(1.0)

    async def control(self, action: str, session_id: str, **body: Any) -> None:
        """A learner's or the auditor's step in ProctorFree; a retry after a dropped connection
        may find it done already (409)."""
        while True:
            try:
                reply = await self.vendor.post(f"/emulator/sessions/{session_id}/{action}", json=body or None)
            except httpx.TransportError as error:
                self.tally.transport_errors[f"{type(error).__name__} on emulator {action}"] += 1
                self._within_budget(f"emulator {action} {session_id}")
                await asyncio.sleep(0.5)
                continue
            if reply.status_code != 409:
                reply.raise_for_status()
            return

    def _within_budget(self, what: str) -> None:
        assert time.monotonic() < self.deadline, f"out of time: {what}"
