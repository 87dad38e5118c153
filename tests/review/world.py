"""What the reviewer-UI tests share: an organisation of their own on a running stack, its
catalog, a reviewer, and learners taking real proctored attempts (real workflows on the
Temporal dev server, the ProctorFree emulator driven through its control API)."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import httpx
from sqlmodel import select

from models.api import (
    CourseIn,
    CourseSettingsIn,
    ExamResultIn,
    LearnerIn,
    LessonIn,
    OpenAttemptIn,
    ProctoringIn,
)
from models.tables import Attempt, LessonProgress, ReviewTask, utcnow
from proctorflow.crypto import SecretBox
from starter.attempts import open_attempt
from starter.signals import record_exam_result
from store import catalog, reviewers
from store.db import transaction
from tests.support.stack import Stack

PASSWORD = "correct horse battery"
COURSE = "widgets-101"
COURSE_TITLE = "Certified Widget Engineer"
EXAM = "final-exam"
EXAM_TITLE = "Final exam"
WELCOME = "welcome"

T = TypeVar("T")

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Taken:
    """One learner's attempt at the final exam."""

    learner_id: str
    learner_name: str
    attempt_id: str
    session_id: str


@dataclass
class ReviewWorld:
    stack: Stack
    # Workflow ids derive from the organisation: a fresh one keeps tests that share the
    # Temporal dev server from meeting each other's workflows.
    org: str = field(default_factory=lambda: f"org-{uuid.uuid4().hex[:12]}")
    username: str = field(default_factory=lambda: f"reviewer-{uuid.uuid4().hex[:6]}")
    integration_id: str = ""

    @property
    def base_url(self) -> str:
        return self.stack.base_url

    def seed(self) -> ReviewWorld:
        """A course whose last required lesson is a fully proctored final exam that requires
        validation and gives the course its score and certificate; and a reviewer."""
        box = SecretBox(self.stack.settings.secret_key or "")
        with transaction(self.stack.sessions) as session:
            catalog.ensure_organisation(session, self.org, "Widgets Inc.")
            self.integration_id = catalog.add_integration(
                session, self.org, "Widgets ProctorFree", "pf-key", "pf-secret-xyz", True, box
            ).id
            lessons = [
                LessonIn(id=WELCOME, title="Welcome video", type="video", required=True),
                LessonIn(id=EXAM, title=EXAM_TITLE, type="quiz", required=True),
            ]
            settings = CourseSettingsIn(score_lesson_id=EXAM, complete_on_failure=False, certificate=True)
            catalog.put_course(
                session, self.org, COURSE, CourseIn(title=COURSE_TITLE, lessons=lessons, settings=settings)
            )
            proctoring = ProctoringIn(
                integration_id=self.integration_id,
                instructions="Clear your desk.",
                method="full",
                requires_validation=True,
            )
            catalog.set_proctoring(session, self.org, COURSE, EXAM, proctoring)
            reviewers.create_reviewer(session, self.org, self.username, PASSWORD, "Rita Reviewer")
        return self

    def limit_time(self, minutes: int | None) -> None:
        """The final exam's time limit at ProctorFree (none by default)."""
        with transaction(self.stack.sessions) as session:
            proctoring = ProctoringIn(
                integration_id=self.integration_id,
                instructions="Clear your desk.",
                method="full",
                requires_validation=True,
                time_limit_minutes=minutes,
            )
            catalog.set_proctoring(session, self.org, COURSE, EXAM, proctoring)

    # --- Learners -----------------------------------------------------------------------------

    async def learner_starts(self, name: str, learner_id: str | None = None) -> Taken:
        """The learner completes the welcome video, opens the proctored exam and starts the
        ProctorFree session: the attempt is in progress."""
        learner_id = learner_id or f"learner-{uuid.uuid4().hex[:8]}"
        self._complete_welcome(learner_id)
        body = OpenAttemptIn(
            course_id=COURSE,
            lesson_id=EXAM,
            learner=LearnerIn(id=learner_id, name=name, email=f"{learner_id}@example.org"),
            attempt_number=1,
        )
        stack = self.stack
        opened = await open_attempt(stack.client, stack.sessions, stack.settings, self.org, body)
        session_id = await self._until(lambda: self._attempt(opened.attempt_id).vendor_session_id)
        await stack.control("start", session_id)
        await self.wait_for_attempt(opened.attempt_id, "in_progress")
        return Taken(learner_id, name, opened.attempt_id, session_id)

    async def learner_finishes(
        self, name: str, score: float = 91.0, passed: bool = True, learner_id: str | None = None
    ) -> Taken:
        """The learner completes the welcome video, opens the proctored exam, starts the
        ProctorFree session, submits the quiz and presses FINISH: a "not ready" task appears."""
        taken = await self.learner_starts(name, learner_id)
        stack = self.stack
        await record_exam_result(
            stack.client,
            stack.sessions,
            self.org,
            taken.attempt_id,
            ExamResultIn(score=score, passed=passed),
        )
        await stack.control("finish", taken.session_id)
        await self.wait_for_task(taken.attempt_id, "not_ready")
        return taken

    async def audit_lands(self, taken: Taken, outcome: str = "clean") -> ReviewTask:
        """ProctorFree finishes its audit; the task, then the attempt, turn ready for review."""
        await self.stack.control("audit", taken.session_id, outcome=outcome)
        task = await self.wait_for_task(taken.attempt_id, "ready_for_review")
        await self._until(lambda: self._attempt(taken.attempt_id).status == "ready_for_review")
        return task

    async def ready_task(self, name: str) -> tuple[Taken, ReviewTask]:
        taken = await self.learner_finishes(name)
        return taken, await self.audit_lands(taken)

    def _complete_welcome(self, learner_id: str) -> None:
        with transaction(self.stack.sessions) as session:
            session.add(
                LessonProgress(
                    org_id=self.org,
                    course_id=COURSE,
                    lesson_id=WELCOME,
                    learner_id=learner_id,
                    completed_at=utcnow(),
                    success=True,
                )
            )

    # --- Reading the database -------------------------------------------------------------------

    def attempt(self, attempt_id: str) -> Attempt:
        return self._attempt(attempt_id)

    def _attempt(self, attempt_id: str) -> Attempt:
        with self.stack.sessions() as session:
            attempt = session.get(Attempt, attempt_id)
            assert attempt is not None
            return attempt

    def task(self, attempt_id: str) -> ReviewTask | None:
        with self.stack.sessions() as session:
            return session.exec(select(ReviewTask).where(ReviewTask.attempt_id == attempt_id)).first()

    async def wait_for_task(self, attempt_id: str, state: str) -> ReviewTask:
        def in_state() -> ReviewTask | None:
            task = self.task(attempt_id)
            return task if task is not None and task.state == state else None

        return await self._until(in_state)

    async def wait_for_attempt(self, attempt_id: str, status: str) -> Attempt:
        def in_status() -> Attempt | None:
            attempt = self._attempt(attempt_id)
            return attempt if attempt.status == status else None

        return await self._until(in_status)

    async def wait_for_attempt_to_leave(self, attempt_id: str, status: str) -> Attempt:
        def moved() -> Attempt | None:
            attempt = self._attempt(attempt_id)
            return attempt if attempt.status != status else None

        return await self._until(moved)

    async def _until(self, probe: Callable[[], T | None], timeout: float = 30.0) -> T:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            found = await asyncio.to_thread(probe)
            if found:
                return found
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"timed out after {timeout}s waiting for {probe}")
            await asyncio.sleep(0.1)


# --- Speaking HTTP to the UI --------------------------------------------------------------------


def csrf_of(html: str) -> str:
    found = CSRF_FIELD.search(html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def once_of(html: str, form_id: str) -> str:
    """The one-submission token of the form with this id (`web.review.once`)."""
    form = re.search(rf'<form[^>]*id="{re.escape(form_id)}".*?</form>', html, re.S)
    assert form, f"the page has no form {form_id}"
    found = re.search(r'name="once" value="([^"]+)"', form.group(0))
    assert found, f"form {form_id} has no one-submission token"
    return found.group(1)


async def signed_in_client(world: ReviewWorld, address: str | None = None) -> httpx.AsyncClient:
    """A browser-like HTTP client (cookies, no redirect following) signed in as the reviewer;
    from a loopback `address` of its own if given (sign-ins are rate-limited per address)."""
    transport = httpx.AsyncHTTPTransport(local_address=address) if address else None
    client = httpx.AsyncClient(base_url=world.base_url, timeout=60, transport=transport)
    login = await client.get("/review/login")
    reply = await client.post(
        "/review/login",
        data={"username": world.username, "password": PASSWORD, "csrf_token": csrf_of(login.text)},
    )
    assert reply.status_code == 303, reply.text
    return client
