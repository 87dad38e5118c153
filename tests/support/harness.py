"""A real stack for workflow tests: a migrated SQLite file, the ProctorFree emulator over real
HTTP, and a worker on a real Temporal server (time-skipping or dev server)."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from cryptography.fernet import Fernet
from sqlmodel import select
from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode

from cli.worker import activity_executor, build_worker
from models.api import CourseIn, CourseSettingsIn, LearnerIn, LessonIn, OpenAttemptIn, ProctoringIn
from models.payloads import AttemptKey, AttemptState, workflow_id_for
from models.tables import Attempt, AttemptEvent, Certificate, CourseProgress, LessonProgress, ReviewTask
from proctorflow.crypto import SecretBox
from proctorflow.settings import Settings
from proctorfree.client import ProctorFreeClient
from proctorfree.emulator.app import create_app
from starter.attempts import open_attempt
from store import catalog
from store.db import make_engine, session_factory, transaction
from tests.support.database import fresh_database_url
from tests.support.keys import TEST_PAYLOAD_KEYS
from tests.support.servers import free_port, serve_in_thread
from workflows.attempt import AttemptWorkflow

HISTORIES = Path(__file__).parent.parent / "workflows" / "histories"
API_KEY = "pf-key-test"
API_SECRET = "pf-secret-test-9f8e7d"
LEARNER_EMAIL = "ada.lovelace@example.org"
LEARNER_NAME = "Ada Lovelace"


class Harness:
    def __init__(self, client: Client, settings: Settings, emulator_url: str, box: SecretBox, engine) -> None:
        self.client = client
        self.settings = settings
        self.emulator_url = emulator_url
        self.box = box
        self.sessions = session_factory(engine)
        self.http = httpx.AsyncClient(base_url=emulator_url, timeout=10)
        self.integration_id = ""
        # Workflow ids derive from the attempt key: a fresh organisation keeps tests that share
        # one Temporal server from meeting each other's workflows.
        self.org = f"org-{uuid.uuid4().hex[:12]}"

    # --- Catalog ----------------------------------------------------------------------------

    def seed(
        self,
        lessons: list[LessonIn],
        proctored: dict[str, tuple[str, bool]],
        course_id: str = "course-1",
        score_lesson_id: str | None = None,
        complete_on_failure: bool = False,
        certificate: bool = True,
        integration_active: bool = True,
    ) -> None:
        """`proctored` maps lesson id to (method, requires_validation)."""
        with transaction(self.sessions) as session:
            catalog.ensure_organisation(session, self.org, "Test organisation")
            if not self.integration_id:
                integration = catalog.add_integration(
                    session, self.org, "MyCompany ProctorFree", API_KEY, API_SECRET, True, self.box
                )
                self.integration_id = integration.id
            body = CourseIn(
                title="Certified Widget Engineer",
                lessons=lessons,
                settings=CourseSettingsIn(
                    score_lesson_id=score_lesson_id,
                    complete_on_failure=complete_on_failure,
                    certificate=certificate,
                ),
            )
            catalog.put_course(session, self.org, course_id, body)
            for lesson_id, (method, validation) in proctored.items():
                catalog.set_proctoring(
                    session,
                    self.org,
                    course_id,
                    lesson_id,
                    ProctoringIn(
                        integration_id=self.integration_id,
                        instructions="Clear your desk. Close other apps.",
                        method=method,
                        requires_validation=validation,
                    ),
                )
        if not integration_active:
            self.set_integration_active(False)

    def set_integration_active(self, active: bool) -> None:
        from models.api import IntegrationPatch

        with transaction(self.sessions) as session:
            catalog.update_integration(
                session, self.org, self.integration_id, IntegrationPatch(is_active=active), self.box
            )

    def complete_lesson_directly(
        self, lesson_id: str, learner_id: str = "learner-1", course_id: str = "course-1"
    ) -> None:
        """A non-proctored lesson the LMS completed (e.g. the intro video)."""
        from models.tables import utcnow

        with transaction(self.sessions) as session:
            session.add(
                LessonProgress(
                    org_id=self.org,
                    course_id=course_id,
                    lesson_id=lesson_id,
                    learner_id=learner_id,
                    completed_at=utcnow(),
                    success=True,
                )
            )

    # --- Attempts ---------------------------------------------------------------------------

    async def open(
        self,
        lesson_id: str,
        learner_id: str = "learner-1",
        attempt_number: int = 1,
        course_id: str = "course-1",
    ) -> WorkflowHandle:
        body = OpenAttemptIn(
            course_id=course_id,
            lesson_id=lesson_id,
            learner=LearnerIn(id=learner_id, name=LEARNER_NAME, email=LEARNER_EMAIL),
            attempt_number=attempt_number,
        )
        opened = await open_attempt(self.client, self.sessions, self.settings, self.org, body)
        return self.client.get_workflow_handle(workflow_id_for(opened.attempt_id))

    def workflow_id(self, lesson_id: str, learner_id: str = "learner-1", attempt_number: int = 1) -> str:
        key = AttemptKey(
            org_id=self.org,
            course_id="course-1",
            lesson_id=lesson_id,
            learner_id=learner_id,
            attempt_number=attempt_number,
        )
        return key.workflow_id

    async def state(self, handle: WorkflowHandle) -> AttemptState:
        return await handle.query(AttemptWorkflow.state)

    async def wait_for(self, handle: WorkflowHandle, predicate, timeout: float = 20.0) -> AttemptState:
        """Query until the workflow's state satisfies `predicate` (queries do not skip time)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            try:
                state = await self.state(handle)
            except RPCError as error:
                # A starved worker (a loaded CI machine) can miss a query's deadline: ask again.
                if error.status != RPCStatusCode.DEADLINE_EXCEEDED and "Timeout" not in error.message:
                    raise
                if asyncio.get_running_loop().time() > deadline:
                    raise
                continue
            if predicate(state):
                return state
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"timed out; last state: {state}")
            await asyncio.sleep(0.05)

    async def session_id(self, handle: WorkflowHandle) -> str:
        state = await self.wait_for(handle, lambda s: s.vendor_session_id is not None)
        assert state.vendor_session_id
        return state.vendor_session_id

    async def learner_takes_exam(
        self, handle: WorkflowHandle, passed: bool = True, score: float = 88.0
    ) -> str:
        """The learner confirms and starts in ProctorFree, submits the quiz, presses FINISH;
        ProctorFree's webhooks are stood in for by the signals they become."""
        from models.payloads import ExamResult

        session_id = await self.session_id(handle)
        # Each step waits for the workflow to take it in, so histories come out the same each run.
        await self.emulator("start", session_id)
        await handle.signal(AttemptWorkflow.learner_started)
        await self.wait_for(handle, lambda s: s.status == "in_progress")
        await handle.signal(AttemptWorkflow.exam_result, ExamResult(score=score, passed=passed))
        await self.wait_for(handle, lambda s: s.exam is not None)
        await self.emulator("finish", session_id)
        await handle.signal(AttemptWorkflow.learner_finished)
        await self.wait_for(handle, lambda s: s.finished)
        return session_id

    async def emulator(self, action: str, session_id: str, **body: Any) -> dict:
        response = await self.http.post(f"/emulator/sessions/{session_id}/{action}", json=body or None)
        response.raise_for_status()
        return response.json()

    async def set_faults(self, **knobs: Any) -> None:
        (await self.http.put("/emulator/faults", json=knobs)).raise_for_status()

    async def history_json(self, handle: WorkflowHandle) -> str:
        return (await handle.fetch_history()).to_json()

    async def save_history(self, handle: WorkflowHandle, name: str) -> None:
        """Keep this run's history for the replay test, when asked to (see tests/workflows/histories)."""
        if os.environ.get("PROCTORFLOW_RECORD_HISTORIES") == "1":
            HISTORIES.mkdir(parents=True, exist_ok=True)
            (HISTORIES / f"{name}.json").write_text(await self.history_json(handle))

    async def stats(self) -> dict:
        return (await self.http.get("/emulator/stats")).json()

    # --- Database reads ---------------------------------------------------------------------

    def attempt(self, handle: WorkflowHandle) -> Attempt:
        with self.sessions() as session:
            found = session.exec(select(Attempt).where(Attempt.workflow_id == handle.id)).one()
            return found

    def events(self, handle: WorkflowHandle) -> list[str]:
        attempt_id = self.attempt(handle).id
        with self.sessions() as session:
            rows = session.exec(
                select(AttemptEvent).where(AttemptEvent.attempt_id == attempt_id).order_by(AttemptEvent.seq)
            )
            return [row.event for row in rows]

    def step(self, handle: WorkflowHandle, event: str) -> AttemptEvent:
        """The last recorded step of this name."""
        attempt_id = self.attempt(handle).id
        with self.sessions() as session:
            return session.exec(
                select(AttemptEvent)
                .where(AttemptEvent.attempt_id == attempt_id, AttemptEvent.event == event)
                .order_by(AttemptEvent.seq.desc())  # type: ignore[attr-defined]
            ).first()

    def task(self, handle: WorkflowHandle) -> ReviewTask | None:
        attempt_id = self.attempt(handle).id
        with self.sessions() as session:
            return session.exec(select(ReviewTask).where(ReviewTask.attempt_id == attempt_id)).first()

    async def task_when(self, handle: WorkflowHandle, predicate, timeout: float = 20.0) -> ReviewTask:
        """The review task once the database holds what `predicate` wants: a query can see the
        workflow's state before the local activity that writes it has committed."""
        return await _stored_when(lambda: self.task(handle), predicate, timeout, "the review task")

    async def attempt_when(self, handle: WorkflowHandle, predicate, timeout: float = 20.0) -> Attempt:
        """The attempt's row once the database holds what `predicate` wants (see `task_when`)."""
        return await _stored_when(lambda: self.attempt(handle), predicate, timeout, "the attempt")

    def lesson_progress(self, lesson_id: str, learner_id: str = "learner-1") -> LessonProgress | None:
        with self.sessions() as session:
            return session.get(LessonProgress, (self.org, "course-1", lesson_id, learner_id))

    def course_progress(self, learner_id: str = "learner-1") -> CourseProgress | None:
        with self.sessions() as session:
            return session.get(CourseProgress, (self.org, "course-1", learner_id))

    def certificates(self) -> int:
        with self.sessions() as session:
            return len(session.exec(select(Certificate)).all())


FAST_TIMERS = dict(
    session_poll_interval=600,
    session_poll_max_interval=3600,
    finish_window=24 * 3600,
    exam_result_window=3600,
    audit_poll_interval=3600,
    audit_deadline=28 * 3600,
)


@asynccontextmanager
async def running_harness(
    client: Client, tmp_path: Path, vendor_timeout: float = 5.0, **timers: int
) -> AsyncIterator[Harness]:
    """The emulator, a migrated database and a worker on its own task queue, for one test."""
    database_url = await asyncio.to_thread(fresh_database_url, tmp_path)
    engine = make_engine(database_url)
    emulator_app = create_app(webhook_url=None, audit_delay_seconds=3600)
    with serve_in_thread(emulator_app, free_port()) as emulator_url:
        settings = Settings(
            database_url=database_url,
            temporal_address="unused",
            task_queue=f"test-{uuid.uuid4().hex[:8]}",
            proctorfree_url=emulator_url,
            public_url="http://127.0.0.1:9",
            payload_keys=TEST_PAYLOAD_KEYS,  # the clients' key ring: it also keys LearnerId pseudonyms
            **{**FAST_TIMERS, **timers},
        )
        box = SecretBox(Fernet.generate_key().decode())
        harness = Harness(client, settings, emulator_url, box, engine)
        with activity_executor(settings) as executor:
            async with ProctorFreeClient(emulator_url, timeout=vendor_timeout) as backend:
                worker = build_worker(client, settings, backend, harness.sessions, box, executor)
                async with worker:
                    try:
                        yield harness
                    finally:
                        await harness.http.aclose()
    engine.dispose()


async def _stored_when(read, predicate, timeout: float, what: str):
    deadline = asyncio.get_running_loop().time() + timeout
    while (row := read()) is None or not predicate(row):
        assert asyncio.get_running_loop().time() < deadline, f"{what} is {row}"
        await asyncio.sleep(0.05)
    return row
