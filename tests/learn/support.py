"""For the learner demo's tests: a course seeded through store.catalog in the default organisation
(the demo page's organisation), its pages asked for over HTTP, and waiting on what the database
shows. Each course id is fresh: attempt workflow ids derive from it, and every test shares one
Temporal dev server."""

from __future__ import annotations

import asyncio
import inspect
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from models.api import CourseIn, IntegrationPatch, LessonIn, ProctoringIn
from models.tables import Attempt
from proctorflow.crypto import SecretBox
from store import catalog
from store.catalog import DEFAULT_ORG
from store.db import transaction
from tests.support.stack import Stack

INSTRUCTIONS = "Keep your camera on for the whole exam.\nHave your ID card at hand."
LEARNER = {"learner_id": "learner-ada", "name": "Ada Lovelace", "email": "ada.lovelace@example.org"}


@dataclass(frozen=True)
class Seeded:
    course_id: str
    integration_id: str

    def lesson_path(self, lesson_id: str) -> str:
        return f"/learn/courses/{self.course_id}/lessons/{lesson_id}"


def exam_lesson(lesson_id: str = "exam", required: bool = True, retakes: bool = False) -> LessonIn:
    return LessonIn(
        id=lesson_id, title="Widget Safety Final Exam", type="quiz", required=required, allows_retakes=retakes
    )


def seed_course(
    stack: Stack,
    lessons: list[LessonIn],
    proctored: dict[str, tuple[str, bool]],
    title: str = "Certified Widget Engineer",
) -> Seeded:
    """`proctored` maps a lesson id to (method, requires_validation)."""
    course_id = f"course-{uuid.uuid4().hex[:10]}"
    box = SecretBox(stack.settings.secret_key or "")
    with transaction(stack.sessions) as session:
        integration = catalog.add_integration(
            session, DEFAULT_ORG, "MyCompany ProctorFree", "pf-key-demo", "pf-secret-demo", True, box
        )
        catalog.put_course(session, DEFAULT_ORG, course_id, CourseIn(title=title, lessons=lessons))
        for lesson_id, (method, requires_validation) in proctored.items():
            settings = ProctoringIn(
                integration_id=integration.id,
                instructions=INSTRUCTIONS,
                method=method,
                requires_validation=requires_validation,
            )
            catalog.set_proctoring(session, DEFAULT_ORG, course_id, lesson_id, settings)
        return Seeded(course_id, integration.id)


def deactivate_integration(stack: Stack, integration_id: str) -> None:
    box = SecretBox(stack.settings.secret_key or "")
    with transaction(stack.sessions) as session:
        catalog.update_integration(
            session, DEFAULT_ORG, integration_id, IntegrationPatch(is_active=False), box
        )


def stored(stack: Stack, attempt_id: str) -> Attempt:
    with stack.sessions() as session:
        attempt = session.get(Attempt, attempt_id)
        assert attempt is not None, f"attempt {attempt_id} is not stored"
        return attempt


async def eventually(check: Callable[[], Any], what: str = "the condition", timeout: float = 20.0) -> Any:
    """Poll `check` (plain or async) until it returns something truthy, and return that."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await check() if inspect.iscoroutinefunction(check) else check()
        if value:
            return value
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.2)


# --- pages, as a browser without JavaScript asks for them ----------------------------------


ALL_RIGHT = {"q1": "spindle", "q2": "monthly", "q3": "yellow"}
SETUP_LINK = re.compile(r'href="[^"]*/learn/attempts/([0-9a-f-]+)/setup"')


async def open_lesson(
    client: httpx.AsyncClient, path: str, attempt: int = 1, **learner: str
) -> httpx.Response:
    return await client.get(path, params={**LEARNER, **learner, "attempt": attempt})


def attempt_id_in(page: httpx.Response) -> str:
    found = SETUP_LINK.search(page.text)
    assert found, f"no Set up Proctoring link in:\n{page.text}"
    return found.group(1)


async def started_attempt(stack: Stack, client: httpx.AsyncClient, path: str) -> Attempt:
    """Open the lesson, wait for the ProctorFree session, and start it as the learner would."""
    attempt_id = attempt_id_in(await open_lesson(client, path))
    attempt = await eventually(lambda: (a := stored(stack, attempt_id)).vendor_session_id and a)
    await stack.control("start", attempt.vendor_session_id)
    return attempt
