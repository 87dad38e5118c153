"""ProctorFree's `session.warning` reaches the LMS as `attempt.time_warning`: in the events feed
and at its endpoint, with the attempt's ids and the minutes left (never a name or the note). A
warning is told once: a replay is refused as for the other webhooks, and so is one for a session
no attempt has.

On the real dev server: the emulator's ticker sends the warning of a session whose limit runs
in seconds (`minute_seconds`), with no one polling, and then ends it at its limit."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest

from tests.api.helpers import (
    API_KEY,
    API_SECRET,
    assert_refused,
    open_attempt,
    proctored_course,
    unique,
    vendor_session,
)
from tests.api.test_webhooks import deliver, event, running_attempt, signed
from tests.support.receiver import Receiver
from tests.support.stack import Stack

WARNING = "attempt.time_warning"


async def warnings_of(stack: Stack, attempt_id: str) -> list[dict]:
    reply = await stack.api.get("/events", params={"after": "0", "limit": 500})
    assert reply.status_code == 200, reply.text
    return [
        e for e in reply.json()["events"] if e["type"] == WARNING and e["data"]["attempt_id"] == attempt_id
    ]


async def wait_for_warning(stack: Stack, attempt_id: str, timeout: float = 30.0) -> dict:
    deadline = asyncio.get_running_loop().time() + timeout
    while not (found := await warnings_of(stack, attempt_id)):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"no {WARNING} for attempt {attempt_id}")
        await asyncio.sleep(0.1)
    (warning,) = found
    return warning


@pytest.fixture
async def quick_minutes(stack: Stack) -> AsyncIterator[None]:
    """Emulated minutes of half a second, for this test only (the stack is the module's)."""
    (await stack.emulator.put("/emulator/faults", json={"minute_seconds": 0.5})).raise_for_status()
    yield
    (await stack.emulator.put("/emulator/faults", json={"minute_seconds": 60.0})).raise_for_status()


async def test_the_emulators_warning_reaches_the_lms_as_an_event_with_no_one_polling(stack, quick_minutes):
    receiver = Receiver()
    async with receiver.serving():
        subscribed = await stack.api.put("/event-endpoint", json={"url": receiver.url})
        receiver.secrets.append(subscribed.json()["secret"])
        course_id, _ = await proctored_course(stack.api, requires_validation=False)
        learner_id = unique("learner")
        attempt_id = (await open_attempt(stack.api, course_id, learner_id))["attempt_id"]
        session_id = await vendor_session(stack, attempt_id)
        # Seven minutes of half a second: the warning 1 s after the start, the end at 3.5 s.
        limit = await stack.emulator.patch(
            f"/api/v1/sessions/{session_id}", json={"time_limit_minutes": 7}, auth=(API_KEY, API_SECRET)
        )
        assert limit.status_code == 200, limit.text
        await stack.control("start", session_id)

        warning = await wait_for_warning(stack, attempt_id)
        await receiver.wait_for(lambda r: r.of(attempt_id=attempt_id, minutes_left=5))
        # The end follows by its own webhook: the capped finish moves the attempt on.
        await stack.wait_for_attempt(
            attempt_id, lambda a: a["status"] not in ("awaiting_setup", "in_progress")
        )
        await stack.api.delete("/event-endpoint")

    assert warning["data"] == {
        "attempt_id": attempt_id,
        "course_id": course_id,
        "lesson_id": "exam",
        "learner_id": learner_id,
        "attempt_number": 1,
        "minutes_left": 5,
    }
    (delivered,) = [r for r in receiver.accepted if r.type == WARNING]
    assert delivered.id == warning["id"] and delivered.data == warning["data"]


async def test_a_replayed_warning_is_refused_and_told_once(stack, anonymous):
    attempt_id, session_id = await running_attempt(stack)
    warned = event(session_id, attempt_id, "session.warning", minutes_left=5)

    accepted = await deliver(stack, anonymous, warned)
    replay = await deliver(stack, anonymous, warned)  # freshly signed, same event id

    assert accepted.status_code == 200, accepted.text
    assert accepted.json() == {"accepted": True, "event_id": warned["event_id"]}
    assert_refused(replay, 409, "delivered already")
    assert [w["data"]["minutes_left"] for w in await warnings_of(stack, attempt_id)] == [5]


async def test_a_warning_for_a_session_no_attempt_has_or_badly_signed_is_refused(stack, anonymous):
    attempt_id, session_id = await running_attempt(stack)
    body = json.dumps(event(session_id, attempt_id, "session.warning", minutes_left=5)).encode()

    stranger = await deliver(
        stack, anonymous, event("pf_nobody", attempt_id, "session.warning", minutes_left=5)
    )
    mismatched = await deliver(
        stack, anonymous, event(session_id, "not-the-attempt", "session.warning", minutes_left=5)
    )
    silent = await deliver(stack, anonymous, event(session_id, attempt_id, "session.warning"))
    forged = await deliver(stack, anonymous, body, signed("not-the-secret", body))

    assert_refused(stranger, 404, "pf_nobody")
    assert_refused(mismatched, 404, session_id)
    assert_refused(silent, 422, "minutes_left")
    assert_refused(forged, 401, "does not match")
    assert await warnings_of(stack, attempt_id) == []
