"""A restarted demo LMS: it rotates its event secret (the previous one still signs for 24 hours),
catches up from ProctorFlow's event feed on what it received before, and goes on receiving."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.api.helpers import proctored_course
from tests.demo_lms.support import DemoLms, attempt_id_on, eventually, lesson_path, serving_demo_lms
from tests.support.stack import Stack


async def test_a_restart_rotates_the_secret_and_catches_up_from_the_feed(stack: Stack, demo: DemoLms):
    course_id, _ = await proctored_course(stack.api, method="full")
    async with demo.learner() as browser:
        attempt_id = attempt_id_on(await browser.get(lesson_path(course_id)))
    record = demo.ledger.of(course_id, "learner-ada")
    await eventually(lambda: "awaiting_setup" in _statuses(record), "awaiting_setup delivered")
    before = [event.id for event in record.events]

    async with serving_demo_lms(stack) as restarted:
        caught_up = [event.id for event in restarted.ledger.of(course_id, "learner-ada").events]
        endpoint = (await stack.api.get("/event-endpoint")).json()
        attempt = (await stack.api.get(f"/attempts/{attempt_id}")).json()
        await stack.control("start", attempt["vendor_session_id"])
        after = restarted.ledger.of(course_id, "learner-ada")
        await eventually(lambda: "in_progress" in _statuses(after), "in_progress delivered after the restart")

    assert caught_up[: len(before)] == before  # the same events, the same ids, in order
    assert endpoint["url"] == f"{restarted.base_url}/events"
    expires = datetime.fromisoformat(endpoint["previous_secret_expires_at"]).replace(tzinfo=UTC)
    assert timedelta(hours=23) < expires - datetime.now(UTC) <= timedelta(hours=24)
    assert "in_progress" not in _statuses(record)  # the first one is no longer told


def _statuses(record) -> list[str]:
    return [event.data.get("status") for event in record.events if event.type == "attempt.status_changed"]
