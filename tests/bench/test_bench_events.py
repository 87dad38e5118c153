"""The benchmark's LMS hears of its attempts from events: its webhook endpoint verifies each
delivery's signature and wakes whoever waits for that attempt; the feed reader does the same
from long polls. No ProctorFlow runs here: the API is faked with httpx's MockTransport."""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import time
from datetime import UTC, datetime

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from bench.events import ENDPOINT_PATH, Inbox, Unheard, listening

NOW = datetime.now(UTC).isoformat()


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def status_changed(attempt_id: str, status: str) -> dict:
    return {
        "type": "attempt.status_changed",
        "timestamp": NOW,
        "data": {"attempt_id": attempt_id, "status": status},
    }


def lesson_completed(attempt_id: str) -> dict:
    return {"type": "lesson.completed", "timestamp": NOW, "data": {"attempt_id": attempt_id, "success": True}}


async def test_a_wait_ends_when_its_event_arrives_and_an_event_delivered_twice_counts_once():
    inbox = Inbox()
    waiting = asyncio.create_task(inbox.until("a1", lambda news: news.reached("awaiting_setup"), "setup", 5))
    await asyncio.sleep(0)
    for _ in range(2):
        inbox.receive(
            "e1", "attempt.status_changed", {"attempt_id": "a1", "status": "awaiting_setup"}, NOW, 1.0
        )

    news = await waiting
    assert news.statuses == ["awaiting_setup"]
    assert inbox.counts["received"] == 1 and inbox.counts["duplicate"] == 1
    # Already said: a later wait for it ends at once.
    assert (await inbox.until("a1", lambda news: news.reached("awaiting_setup"), "setup", 0.01)) is news


async def test_an_attempt_that_ends_in_error_fails_its_waits_and_silence_times_out():
    inbox = Inbox()
    waiting = asyncio.create_task(inbox.until("a1", lambda news: news.reached("in_progress"), "start", 5))
    await asyncio.sleep(0)
    inbox.receive("e1", "attempt.status_changed", {"attempt_id": "a1", "status": "error"}, NOW, 1.0)
    with pytest.raises(Unheard, match="is error"):
        await waiting
    with pytest.raises(Unheard, match="no event said start"):
        await inbox.until("a2", lambda news: news.reached("in_progress"), "start", 0.05)


def fake_api(secret: str, calls: list[str]) -> httpx.AsyncClient:
    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(f"{request.method} {request.url.path}")
        if request.method == "PUT":
            return httpx.Response(200, json={"url": json.loads(request.content)["url"], "secret": secret})
        return httpx.Response(204)

    return httpx.AsyncClient(base_url="http://proctorflow/api/v1", transport=httpx.MockTransport(answer))


def signed(secret: str, event_id: str, event: dict) -> tuple[str, dict[str, str]]:
    body = json.dumps(event)
    at = datetime.now(UTC)
    headers = {
        "webhook-id": event_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(event_id, at, body),
    }
    return body, headers


async def test_the_webhook_endpoint_takes_signed_deliveries_and_refuses_others():
    secret, calls, inbox = new_secret(), [], Inbox()
    async with fake_api(secret, calls) as api, listening(api, inbox, "webhook") as source:
        url = source.removeprefix("webhooks to ")
        assert url.endswith(ENDPOINT_PATH)
        async with httpx.AsyncClient() as lms_side:
            sent = time.perf_counter()
            body, headers = signed(secret, "e1", lesson_completed("a1"))
            assert (await lms_side.post(url, content=body, headers=headers)).status_code == 204
            news = await inbox.until("a1", lambda news: news.lesson_completed_at is not None, "done", 5)
            assert news.lesson_completed_at >= sent

            body, headers = signed(new_secret(), "e2", status_changed("a1", "completed"))
            assert (await lms_side.post(url, content=body, headers=headers)).status_code == 401
            await asyncio.sleep(0.05)  # the refusal is counted on the driver's loop
    assert inbox.counts["rejected"] == 1 and inbox.counts["received"] == 1
    assert calls == ["PUT /api/v1/event-endpoint", "DELETE /api/v1/event-endpoint"]


async def test_the_feed_reader_follows_the_cursor():
    pages = {
        "0": {"events": [{"id": "e1", **status_changed("a1", "awaiting_setup")}], "next_cursor": "1"},
        "1": {"events": [{"id": "e2", **lesson_completed("a1")}], "next_cursor": "2"},
    }

    async def answer(request: httpx.Request) -> httpx.Response:
        after = request.url.params["after"]
        if after not in pages:
            await asyncio.sleep(0.05)  # a long poll with nothing new
            return httpx.Response(200, json={"events": [], "next_cursor": after})
        return httpx.Response(200, json=pages[after])

    inbox = Inbox()
    api = httpx.AsyncClient(base_url="http://proctorflow/api/v1", transport=httpx.MockTransport(answer))
    async with api, listening(api, inbox, "feed"):
        news = await inbox.until("a1", lambda news: news.lesson_completed_at is not None, "done", 5)
    assert news.statuses == ["awaiting_setup"]
    assert inbox.counts["received"] == 2
