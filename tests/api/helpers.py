"""Building blocks for API tests: catalog set-up, a scripted learner, and refusal checks."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.support.stack import Stack

API_KEY = "pf-key-api-tests"
API_SECRET = "pf-secret-3c1e9a7b55d0"
ROTATED_SECRET = "pf-secret-rotated-8e2f4d"
SECRETS = (API_SECRET, ROTATED_SECRET)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def assert_refused(response: httpx.Response, status: int, *words: str) -> dict:
    """A 4xx in the API's one error shape, whose message says what is wrong."""
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] and error["message"], error
    for word in words:
        assert word.lower() in error["message"].lower(), error["message"]
    return error


async def add_integration(api: httpx.AsyncClient, **overrides: Any) -> dict:
    body = {"name": "MyCompany ProctorFree", "api_key": API_KEY, "api_secret": API_SECRET} | overrides
    response = await api.post("/integrations", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def exam_lesson(lesson_id: str = "exam", required: bool = True, type: str = "quiz", **more: Any) -> dict:
    return {"id": lesson_id, "title": "Final exam", "type": type, "required": required} | more


async def put_course(api: httpx.AsyncClient, course_id: str, lessons: list[dict], **settings: Any) -> dict:
    body = {"title": "Certified Widget Engineer", "lessons": lessons, "settings": settings}
    response = await api.put(f"/courses/{course_id}", json=body)
    assert response.status_code == 200, response.text
    return response.json()


async def proctored_course(
    api: httpx.AsyncClient,
    method: str = "record_only",
    requires_validation: bool = True,
    required: bool = True,
    allows_retakes: bool = False,
    certificate: bool = True,
) -> tuple[str, str]:
    """A course whose only lesson, "exam", is proctored; returns (course id, integration id)."""
    integration = await add_integration(api)
    course_id = unique("course")
    await put_course(
        api,
        course_id,
        [exam_lesson(required=required, allows_retakes=allows_retakes)],
        score_lesson_id="exam",
        certificate=certificate,
    )
    response = await api.put(
        f"/courses/{course_id}/lessons/exam/proctoring",
        json={
            "integration_id": integration["id"],
            "instructions": "Clear your desk and close other applications.",
            "method": method,
            "requires_validation": requires_validation,
        },
    )
    assert response.status_code == 200, response.text
    return course_id, integration["id"]


def open_body(course_id: str, learner_id: str, attempt_number: int = 1, lesson_id: str = "exam") -> dict:
    return {
        "course_id": course_id,
        "lesson_id": lesson_id,
        "learner": {"id": learner_id, "name": "Ada Lovelace", "email": "ada.lovelace@example.org"},
        "attempt_number": attempt_number,
    }


async def open_attempt(
    api: httpx.AsyncClient, course_id: str, learner_id: str, attempt_number: int = 1
) -> dict:
    response = await api.post("/attempts/open", json=open_body(course_id, learner_id, attempt_number))
    assert response.status_code == 200, response.text
    return response.json()


async def vendor_session(stack: Stack, attempt_id: str) -> str:
    attempt = await stack.wait_for_attempt(attempt_id, lambda a: a["vendor_session_id"] is not None)
    return attempt["vendor_session_id"]


async def learner_takes_exam(stack: Stack, attempt_id: str, passed: bool = True, score: float = 91) -> str:
    """Confirm and start in ProctorFree, submit the quiz, press FINISH; returns the session id.
    ProctorFree's webhooks carry start and finish to the web app."""
    session_id = await vendor_session(stack, attempt_id)
    await stack.control("start", session_id)
    await stack.wait_for_attempt(attempt_id, lambda a: a["status"] == "in_progress")
    response = await stack.api.post(
        f"/attempts/{attempt_id}/exam-result", json={"score": score, "passed": passed}
    )
    assert response.status_code == 202, response.text
    await stack.control("finish", session_id)
    return session_id


async def review_task_of(stack: Stack, attempt_id: str, state: str) -> dict:
    attempt = await stack.wait_for_attempt(
        attempt_id, lambda a: a["review_task"] is not None and a["review_task"]["state"] == state
    )
    response = await stack.api.get(f"/review-tasks/{attempt['review_task']['id']}")
    assert response.status_code == 200, response.text
    return response.json()


async def decide(stack: Stack, task_id: str, decision: str = "pass", reviewer: str = "rita@lms") -> dict:
    """The reviewer's pass or fail through the API; the reply's body."""
    response = await stack.api.post(
        f"/review-tasks/{task_id}/decision", json={"decision": decision, "reviewer": reviewer}
    )
    assert response.status_code == 200, response.text
    return response.json()
