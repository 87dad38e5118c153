"""ProctorFlow tells the LMS: every change is an event, delivered as a Standard Webhook that the
LMS verifies with the `standardwebhooks` package, in order for each learner's course, at least
once, through an endpoint's failures; the feed serves the same events with the same ids.

On the real dev server, with the worker, the web app, the ProctorFree emulator and an LMS
endpoint on real ports."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import httpx
import pytest
from sqlmodel import select

from models.tables import AttemptEvent
from tests.api.helpers import (
    decide,
    learner_takes_exam,
    open_attempt,
    proctored_course,
    review_task_of,
    unique,
)
from tests.support.receiver import Receiver
from tests.support.stack import Stack, running_stack


@pytest.fixture
async def stack(dev_server, tmp_path):
    async with running_stack(dev_server.client, tmp_path) as running:
        yield running


async def subscribe(stack: Stack, receiver: Receiver) -> str:
    reply = await stack.api.put("/event-endpoint", json={"url": receiver.url})
    assert reply.status_code == 200, reply.text
    secret = reply.json()["secret"]
    assert secret.startswith("whsec_")
    receiver.secrets.append(secret)
    return secret


async def pass_an_attempt(stack: Stack, course_id: str, learner_id: str) -> str:
    """Open, take the quiz, FINISH, and the reviewer passes: the attempt completes."""
    attempt_id = (await open_attempt(stack.api, course_id, learner_id))["attempt_id"]
    await learner_takes_exam(stack, attempt_id)
    task = await review_task_of(stack, attempt_id, "ready_for_review")
    await decide(stack, task["id"])
    await stack.wait_for_attempt(attempt_id, lambda a: a["status"] == "completed")
    return attempt_id


async def feed(stack: Stack, after: str = "0", **params) -> dict:
    reply = await stack.api.get("/events", params={"after": after, "limit": 500, **params})
    assert reply.status_code == 200, reply.text
    return reply.json()


def stored_statuses(stack: Stack, attempt_id: str) -> list[str]:
    with stack.sessions() as session:
        steps = session.exec(
            select(AttemptEvent).where(AttemptEvent.attempt_id == attempt_id).order_by(AttemptEvent.seq)
        ).all()
    statuses = [step.status for step in steps if step.status is not None]
    return [s for i, s in enumerate(statuses) if i == 0 or s != statuses[i - 1]]


async def test_a_full_attempts_events_arrive_verified_in_order_with_no_gap_and_the_feed_has_the_same_ids(
    stack,
):
    receiver = Receiver()
    async with receiver.serving():
        await subscribe(stack, receiver)
        course_id, _ = await proctored_course(stack.api)
        learner = unique("learner")
        attempt_id = await pass_an_attempt(stack, course_id, learner)
        # The decision's transaction ends with the attempt's move to completed: its last event.
        await receiver.wait_for(
            lambda r: bool(r.of(course_id=course_id, learner_id=learner, status="completed"))
        )

    delivered = receiver.of(course_id=course_id)
    statuses = [e.data for e in delivered if e.type == "attempt.status_changed"]
    assert [s["status"] for s in statuses] == stored_statuses(stack, attempt_id)
    assert statuses[0]["previous_status"] is None and statuses[-1]["status"] == "completed"
    # No gap: each change starts from the status the one before it ended in.
    pairs = zip(statuses, statuses[1:], strict=False)
    assert all(later["previous_status"] == earlier["status"] for earlier, later in pairs)
    types = [e.type for e in delivered]
    # The decision's one transaction: decided, task passed, lesson, course, certificate, completed.
    assert types[-6:] == [
        "attempt.status_changed",
        "review_task.changed",
        "lesson.completed",
        "course.completed",
        "certificate.issued",
        "attempt.status_changed",
    ]
    assert [e.data["state"] for e in delivered if e.type == "review_task.changed"] == [
        "ready_for_review",
        "passed",
    ]
    lesson = next(e.data for e in delivered if e.type == "lesson.completed")
    assert (lesson["attempt_id"], lesson["success"], lesson["score"]) == (attempt_id, True, 91)
    # Ids and states only: never the learner's name or e-mail.
    text = repr([e.data for e in delivered])
    assert "Ada" not in text and "@example.org" not in text
    assert len(set(receiver.ids())) == len(receiver.ids())

    events = (await feed(stack))["events"]
    assert [e["id"] for e in events if e["data"].get("course_id") == course_id] == [e.id for e in delivered]

    deliveries = (await stack.api.get("/event-deliveries")).json()["items"]
    assert {d["event_id"] for d in deliveries} == set(receiver.ids())
    assert all(d["state"] == "delivered" and d["last_status_code"] == 204 for d in deliveries)


async def test_an_endpoint_that_fails_for_a_while_then_recovers_receives_every_event_once(stack):
    """5xx, then answers too late, then not there at all: the attempts complete meanwhile at
    their usual pace, and once the endpoint is back every event arrives, each id accepted once."""
    receiver = Receiver(mode="fail", slow_seconds=stack.settings.event_delivery_timeout + 1)
    course_id, _ = await proctored_course(stack.api)
    learners = [unique("learner") for _ in range(4)]
    async with receiver.serving():
        await subscribe(stack, receiver)
        began = time.monotonic()
        attempts = [pass_an_attempt(stack, course_id, learner) for learner in learners[:2]]
        await asyncio.gather(*attempts)
        await receiver.wait_for(lambda r: r.refused["5xx"] > 0)  # each failure mode is met, however fast
        receiver.mode = "slow"
        await asyncio.gather(*[pass_an_attempt(stack, course_id, learner) for learner in learners[2:3]])
        await receiver.wait_for(lambda r: r.refused["slow"] > 0)
    # Not there at all: connections refused.
    await pass_an_attempt(stack, course_id, learners[3])
    all_completed_s = time.monotonic() - began
    assert not receiver.accepted, "nothing was accepted while the endpoint failed"

    receiver.mode = "accept"
    async with receiver.serving():
        events = [e for e in (await feed(stack))["events"] if e["data"].get("course_id") == course_id]
        expected = {e["id"] for e in events}
        await receiver.wait_for(lambda r: expected <= set(r.ids()), timeout=60)

    assert Counter(receiver.ids()) == Counter({event_id: 1 for event_id in receiver.ids()})
    assert receiver.refused["5xx"] > 0 and receiver.refused["slow"] > 0
    deliveries = {d["event_id"]: d for d in (await stack.api.get("/event-deliveries")).json()["items"]}
    retried = [deliveries[event_id] for event_id in expected if deliveries[event_id]["attempts"] > 1]
    assert retried and all(deliveries[event_id]["state"] == "delivered" for event_id in expected)
    for learner in learners:  # in order within each learner's course, however late
        statuses = [e.data for e in receiver.of(learner_id=learner) if e.type == "attempt.status_changed"]
        assert statuses[-1]["status"] == "completed"
        assert all(b["previous_status"] == a["status"] for a, b in zip(statuses, statuses[1:], strict=False))
    print(f"\n4 attempts completed in {all_completed_s:.1f}s while the endpoint failed")


async def test_a_rotated_secret_signs_beside_the_old_one_for_a_day_and_no_secret_is_shown_again(stack):
    receiver = Receiver()
    async with receiver.serving():
        first = await subscribe(stack, receiver)
        shown = (await stack.api.get("/event-endpoint")).json()
        assert shown["secret"] is None and shown["url"] == receiver.url
        rotated = (
            await stack.api.put("/event-endpoint", json={"url": receiver.url, "rotate_secret": True})
        ).json()
        assert rotated["secret"] not in (None, first) and rotated["previous_secret_expires_at"] is not None
        receiver.secrets = [first]  # an LMS that has not taken the new secret yet still verifies
        course_id, _ = await proctored_course(stack.api)
        await open_attempt(stack.api, course_id, unique("learner"))
        await receiver.wait_for(lambda r: r.of(course_id=course_id))
        assert all(e.signatures == 2 for e in receiver.of(course_id=course_id))
        receiver.secrets = [rotated["secret"]]  # and one that has, too
        await open_attempt(stack.api, course_id, unique("learner"))
        await receiver.wait_for(lambda r: len({e.data["learner_id"] for e in r.of(course_id=course_id)}) == 2)


async def test_the_feed_waits_for_the_next_event_and_pages_with_its_cursor(stack):
    course_id, _ = await proctored_course(stack.api)
    cursor = (await feed(stack))["next_cursor"]
    empty_began = time.monotonic()
    empty = await feed(stack, cursor, wait=1)
    assert empty["events"] == [] and empty["next_cursor"] == cursor and time.monotonic() - empty_began >= 1

    waiting = asyncio.create_task(feed(stack, cursor, wait=20))
    await asyncio.sleep(0.5)
    opened_at = time.monotonic()
    attempt_id = (await open_attempt(stack.api, course_id, unique("learner")))["attempt_id"]
    first = await waiting
    assert time.monotonic() - opened_at < 5, "answered as soon as an event existed"
    assert first["events"][0]["type"] == "attempt.status_changed"
    assert first["events"][0]["data"]["attempt_id"] == attempt_id

    one = await feed(stack, cursor, limit=1)
    assert len(one["events"]) == 1 and one["events"][0]["id"] == first["events"][0]["id"]
    rest = await feed(stack, one["next_cursor"])
    assert [e["id"] for e in one["events"] + rest["events"]][: len(first["events"])] == [
        e["id"] for e in first["events"]
    ]


async def test_redelivery_sends_an_event_again_with_the_same_id(stack):
    receiver = Receiver()
    async with receiver.serving():
        await subscribe(stack, receiver)
        course_id, _ = await proctored_course(stack.api)
        await open_attempt(stack.api, course_id, unique("learner"))
        await receiver.wait_for(lambda r: r.of(course_id=course_id))
        event_id = receiver.of(course_id=course_id)[0].id

        again = await stack.api.post(f"/events/{event_id}/redeliver")
        assert again.status_code == 202, again.text
        await receiver.wait_for(lambda r: r.ids().count(event_id) == 2)


async def test_bad_calls_are_refused_with_what_to_fix(stack):
    async def refused(response: httpx.Response, status: int, *words: str) -> None:
        assert response.status_code == status, response.text
        message = response.json()["error"]["message"]
        assert all(word in message for word in words), message

    await refused(await stack.api.get("/event-endpoint"), 404, "PUT /api/v1/event-endpoint")
    await refused(await stack.api.put("/event-endpoint", json={"url": "not a url"}), 422, "url")
    await refused(await stack.api.put("/event-endpoint", json={"url": "ftp://lms.example/x"}), 422, "url")
    await refused(await stack.api.get("/events", params={"after": "abc"}), 422, "cursor")
    await refused(await stack.api.get("/events", params={"wait": 99}), 422, "wait")
    await refused(await stack.api.post("/events/nope/redeliver"), 404, "event nope")
    await refused(await stack.api.delete("/event-endpoint"), 404, "no event endpoint")
