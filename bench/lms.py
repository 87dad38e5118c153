"""The benchmark's LMS and learners: the catalog pushed through the HTTP API, attempts opened,
learners scripted through the emulator's control API, reviewers deciding, as the outside world
would drive ProctorFlow. The LMS learns how its attempts move on from ProctorFlow's events
(`news`, fed by `bench/events.py`), never by polling. Bad answers raise with the reply's text."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from bench.events import Inbox

API_KEY = "pf-key-bench"
API_SECRET = "pf-secret-bench-5b9d"


class Refused(Exception):
    """ProctorFlow or the emulator answered something other than what the script expects."""


def _expect(response: httpx.Response, status: int) -> dict:
    if response.status_code != status:
        raise Refused(
            f"{response.request.method} {response.request.url.path}: "
            f"{response.status_code} {response.text[:300]}"
        )
    return response.json()


@dataclass
class Lms:
    api: httpx.AsyncClient  # /api/v1, authorised as the LMS
    emulator: httpx.AsyncClient
    news: Inbox = field(default_factory=Inbox)  # the events received, while `listening` to them

    # --- Catalog --------------------------------------------------------------------------

    async def proctored_course(self, method: str, requires_validation: bool = True) -> str:
        """A course whose only, required lesson "exam" is proctored; returns the course id."""
        integration = _expect(
            await self.api.post(
                "/integrations", json={"name": "Bench", "api_key": API_KEY, "api_secret": API_SECRET}
            ),
            201,
        )
        course_id = f"course-{method}-{uuid.uuid4().hex[:6]}"
        lesson = {"id": "exam", "title": "Final exam", "type": "quiz", "required": True}
        course = {"title": "Benchmark course", "lessons": [lesson], "settings": {"score_lesson_id": "exam"}}
        _expect(await self.api.put(f"/courses/{course_id}", json=course), 200)
        proctoring = {
            "integration_id": integration["id"],
            "instructions": "Clear your desk.",
            "method": method,
            "requires_validation": requires_validation,
        }
        _expect(await self.api.put(f"/courses/{course_id}/lessons/exam/proctoring", json=proctoring), 200)
        return course_id

    # --- Attempts -------------------------------------------------------------------------

    async def open(self, course_id: str, learner_id: str) -> dict:
        body = {
            "course_id": course_id,
            "lesson_id": "exam",
            "learner": {"id": learner_id, "name": "Bench Learner", "email": "bench.learner@example.org"},
            "attempt_number": 1,
        }
        return _expect(await self.api.post("/attempts/open", json=body), 200)

    async def timed_open(self, course_id: str, learner_id: str) -> float:
        started = time.perf_counter()
        await self.open(course_id, learner_id)
        return time.perf_counter() - started

    async def attempt(self, attempt_id: str) -> dict:
        return _expect(await self.api.get(f"/attempts/{attempt_id}"), 200)

    async def control(self, action: str, session_id: str, **body: Any) -> None:
        _expect(await self.emulator.post(f"/emulator/sessions/{session_id}/{action}", json=body or None), 200)

    async def exam_result(self, attempt_id: str, score: float, passed: bool) -> None:
        _expect(
            await self.api.post(
                f"/attempts/{attempt_id}/exam-result", json={"score": score, "passed": passed}
            ),
            202,
        )

    async def decide(self, task_id: str, decision: str = "pass") -> dict:
        body = {"decision": decision, "reviewer": "bench-reviewer"}
        return _expect(await self.api.post(f"/review-tasks/{task_id}/decision", json=body), 200)

    async def progress(self, course_id: str, learner_id: str) -> dict:
        return _expect(await self.api.get(f"/courses/{course_id}/learners/{learner_id}/progress"), 200)

    async def vendor_stats(self) -> dict:
        return _expect(await self.emulator.get("/emulator/stats"), 200)


def lms_clients(api_url: str, token: str, emulator_url: str) -> tuple[httpx.AsyncClient, httpx.AsyncClient]:
    # Enough connections for the open loop's bursts; keep-alive as an LMS backend would, but
    # dropping idle connections before uvicorn does (5 s), so none is reused as it closes.
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=100, keepalive_expiry=2.0)
    api = httpx.AsyncClient(
        base_url=api_url, headers={"Authorization": f"Bearer {token}"}, timeout=60, limits=limits
    )
    return api, httpx.AsyncClient(base_url=emulator_url, timeout=30, limits=limits)
