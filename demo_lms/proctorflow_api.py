"""ProctorFlow's public HTTP API, as this LMS calls it: plain JSON over httpx with the
organisation's bearer token. A 4xx becomes `ApiRefused` carrying ProctorFlow's own message (it
says what to fix); no answer or a 5xx becomes `ApiUnavailable` (worth a retry)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx


class ApiRefused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


class ApiUnavailable(Exception):
    """ProctorFlow did not answer, or answered 5xx."""


def _id(value: str) -> str:
    return quote(value, safe="")


class ProctorFlowApi:
    def __init__(self, base_url: str, token: str, timeout: float = 15.0) -> None:
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}", "User-Agent": "ProctorFlow demo LMS"},
            timeout=timeout,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    # --- set-up: where learners come back to, and where events go ---------------------------

    async def set_return_url(self, template: str) -> dict[str, Any]:
        return await self._call("PATCH", "/organisation", json={"lms_return_url": template})

    async def register_event_endpoint(self, url: str) -> str:
        """Point the organisation's events at `url` with a new secret (the old one signs for 24 h
        more); the secret is only ever in this reply."""
        reply = await self._call("PUT", "/event-endpoint", json={"url": url, "rotate_secret": True})
        return reply["secret"]

    async def events_after(self, cursor: str, limit: int = 500) -> dict[str, Any]:
        return await self._call("GET", "/events", params={"after": cursor, "limit": limit})

    # --- the catalog and a learner's progress -----------------------------------------------

    async def course(self, course_id: str) -> dict[str, Any]:
        return await self._call("GET", f"/courses/{_id(course_id)}")

    async def progress(self, course_id: str, learner_id: str) -> dict[str, Any]:
        return await self._call("GET", f"/courses/{_id(course_id)}/learners/{_id(learner_id)}/progress")

    async def report_completion(self, course_id: str, learner_id: str, lesson_id: str) -> dict[str, Any]:
        """A lesson ProctorFlow does not proctor (the intro video), completed in the LMS."""
        path = f"/courses/{_id(course_id)}/learners/{_id(learner_id)}/lessons/{_id(lesson_id)}/completion"
        return await self._call("PUT", path, json={"completed": True})

    # --- attempts -----------------------------------------------------------------------------

    async def open_attempt(
        self, course_id: str, lesson_id: str, learner: dict[str, str], attempt_number: int
    ) -> dict[str, Any]:
        body = {
            "course_id": course_id,
            "lesson_id": lesson_id,
            "learner": learner,
            "attempt_number": attempt_number,
        }
        return await self._call("POST", "/attempts/open", json=body)

    async def attempt(self, attempt_id: str) -> dict[str, Any]:
        return await self._call("GET", f"/attempts/{_id(attempt_id)}")

    async def record_exam_result(self, attempt_id: str, score: float, passed: bool) -> dict[str, Any]:
        body = {"score": score, "passed": passed}
        return await self._call("POST", f"/attempts/{_id(attempt_id)}/exam-result", json=body)

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = await self._http.request(method, path, **kwargs)
        except httpx.HTTPError as error:
            raise ApiUnavailable(f"ProctorFlow did not answer ({type(error).__name__})") from error
        if response.status_code >= 500:
            raise ApiUnavailable(f"ProctorFlow answered {response.status_code}: {_message(response)}")
        if response.status_code >= 400:
            raise ApiRefused(response.status_code, _message(response))
        return response.json() if response.content else None


def _message(response: httpx.Response) -> str:
    """ProctorFlow's error message ({"error": {"message"}}), or the status line."""
    try:
        return str(response.json()["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return f"HTTP {response.status_code} {response.reason_phrase}"
