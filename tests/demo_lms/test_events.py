"""The demo LMS's event endpoint: it takes only deliveries signed with the secret ProctorFlow gave
it at start (Standard Webhooks), and the progress its pages show changes from what it received."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import httpx

from tests.api.helpers import decide, proctored_course, review_task_of
from tests.demo_lms.support import ALL_RIGHT, DemoLms, eventually, started_attempt
from tests.support.stack import Stack


def delivery(verifier, body: str, event_id: str | None = None) -> dict[str, str]:
    """Standard Webhooks headers for `body`, signed as ProctorFlow signs it."""
    event_id = event_id or f"evt-{uuid.uuid4()}"
    now = datetime.now(UTC)
    return {
        "webhook-id": event_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": verifier.sign(event_id, now, body),
        "content-type": "application/json",
    }


def status_event(course_id: str, status: str) -> str:
    data = {"attempt_id": "a-1", "course_id": course_id, "lesson_id": "exam", "learner_id": "learner-ada"}
    data |= {"attempt_number": 1, "status": status, "previous_status": None}
    return json.dumps(
        {"type": "attempt.status_changed", "timestamp": datetime.now(UTC).isoformat(), "data": data}
    )


async def test_a_delivery_is_taken_only_with_a_valid_signature_and_only_once(demo: DemoLms):
    course_id = f"course-{uuid.uuid4().hex[:8]}"
    body = status_event(course_id, "awaiting_setup")
    good = delivery(demo.app.state.verifier, body)
    async with httpx.AsyncClient(base_url=demo.base_url, timeout=10) as proctorflow:
        unsigned = await proctorflow.post(
            "/events", content=body, headers={"content-type": "application/json"}
        )
        tampered = await proctorflow.post(
            "/events", content=body.replace("awaiting_setup", "completed"), headers=good
        )
        malformed = await proctorflow.post(
            "/events", content=body, headers=good | {"webhook-signature": "v1"}
        )
        taken = await proctorflow.post("/events", content=body, headers=good)
        again = await proctorflow.post("/events", content=body, headers=good)

    assert [unsigned.status_code, tampered.status_code, malformed.status_code] == [400, 400, 400]
    assert "signature" in tampered.json()["error"]["message"]
    assert taken.status_code == again.status_code == 204
    record = demo.ledger.of(course_id, "learner-ada")
    assert [event.type for event in record.events] == ["attempt.status_changed"]
    assert record.attempts["a-1"].values["status"] == "awaiting_setup"


async def test_the_learners_progress_changes_live_from_the_events_of_a_whole_attempt(
    stack: Stack, demo: DemoLms
):
    course_id, _ = await proctored_course(stack.api, method="full", requires_validation=True)
    async with demo.learner() as browser:
        attempt = await started_attempt(stack, browser, course_id)
        attempt_id = attempt["attempt_id"]
        await browser.post(f"/attempts/{attempt_id}/quiz", data=ALL_RIGHT)
        await stack.control("finish", attempt["vendor_session_id"])
        await stack.control("audit", attempt["vendor_session_id"], outcome="clean")
        task = await review_task_of(stack, attempt_id, "ready_for_review")

        async def live_says(key: str, words: str):
            now = (await browser.get(f"/live/courses/{course_id}")).json()
            return now if now["text"].get(key) == words else None

        before = await eventually(lambda: live_says("lesson:exam:attempt", "Ready for review"), "ready")
        await decide(stack, task["id"], "pass")
        await eventually(lambda: live_says("course:certificate", "issued"), "the certificate event")
        after = await eventually(lambda: live_says("lesson:exam:attempt", "Completed"), "the last status")
        lesson_page = (await browser.get(f"/live/attempts/{attempt_id}")).json()

    assert "lesson:exam:completion" not in before["text"]
    assert after["text"]["lesson:exam:completion"] == "completed (100%), proctoring passed"
    assert after["text"]["course:completion"] == "completed"
    assert lesson_page["text"]["status:headline"] == "Completed"
    assert lesson_page["show"]["stage:done"] is True
    types = [event["type"] for event in after["events"]]
    for expected in ("attempt.status_changed", "review_task.changed", "lesson.completed", "course.completed"):
        assert expected in types, types
    assert types.index("certificate.issued") < types.index("lesson.completed")  # newest first
