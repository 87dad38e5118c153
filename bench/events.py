"""How the benchmark's LMS learns what became of its attempts: from ProctorFlow's events, as an
LMS would, not by polling `GET /attempts/{id}`.

Two channels, one inbox:

- `webhook` (the default): an endpoint of the LMS's own, served by uvicorn in a thread of this
  process, registered with `PUT /api/v1/event-endpoint`; each delivery's Standard Webhooks
  signature is verified with the secret that reply showed once, and the event handed to the
  inbox on the driver's loop. A delivery that does not verify is refused (401) and counted.
- `feed`: one long poll after another on `GET /api/v1/events` (no endpoint is registered).

The inbox keeps, per attempt, the statuses announced (`attempt.status_changed`), its review
task (`review_task.changed`) and when `lesson.completed` arrived, and wakes whoever waits for
one of them. An event delivered twice (a retried delivery) counts once."""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.support.servers import free_port, serve_in_thread

CHANNELS = ("webhook", "feed")
ENDED = ("error", "expired")  # statuses after which none of the script's waits can be met
FEED_LIMIT = 500
# Seconds a feed request waits for news. A request the driver abandons (at the end of a phase)
# keeps the web app looking at the outbox until then, so it is kept short of the API's 30.
FEED_WAIT = 10
FEED_RETRY = 0.5  # after a failed feed request
ENDPOINT_PATH = "/lms/events"


class Unheard(Exception):
    """No event said what the script waits for, in time, or one said it never will."""


@dataclass
class AttemptNews:
    """What the events said of one attempt so far."""

    statuses: list[str] = field(default_factory=list)  # in the order they arrived
    review_task_id: str | None = None
    review_state: str | None = None
    lesson_completed_at: float | None = None  # time.perf_counter() when it arrived

    def reached(self, status: str) -> bool:
        return status in self.statuses


@dataclass
class Tally:
    """The inbox's counts at a moment, to subtract one from another around a phase."""

    counts: Counter[str]
    lags: int  # how many delivery lags were recorded


class Inbox:
    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()  # received, duplicate, rejected, feed_errors, type:<t>
        # Seconds from each event's timestamp to its arrival (wall clocks of one machine).
        self.lags: list[float] = []
        self._news: dict[str, AttemptNews] = {}
        self._waiting: dict[str, list[tuple[Callable[[AttemptNews], bool], asyncio.Future]]] = {}
        self._seen: set[str] = set()

    def tally(self) -> Tally:
        return Tally(Counter(self.counts), len(self.lags))

    def receive(
        self, event_id: str, type_: str, data: dict[str, Any], timestamp: str, arrived: float
    ) -> None:
        """One event, `arrived` (perf_counter) when it reached the LMS. Runs on the driver's loop."""
        if event_id in self._seen:
            self.counts["duplicate"] += 1
            return
        self._seen.add(event_id)
        self.counts["received"] += 1
        self.counts[f"type:{type_}"] += 1
        self.lags.append(time.time() - (time.perf_counter() - arrived) - _epoch_seconds(timestamp))
        attempt_id = data.get("attempt_id")
        if attempt_id is None:  # a course's or a certificate's: nothing the script waits for
            return
        news = self._news.setdefault(attempt_id, AttemptNews())
        if type_ == "attempt.status_changed":
            news.statuses.append(data["status"])
        elif type_ == "review_task.changed":
            news.review_task_id, news.review_state = data["task_id"], data["state"]
        elif type_ == "lesson.completed" and news.lesson_completed_at is None:
            news.lesson_completed_at = arrived
        for holds, future in self._waiting.get(attempt_id, []):
            if future.done():
                continue
            if holds(news):
                future.set_result(news)
            elif data.get("status") in ENDED:
                future.set_exception(Unheard(f"attempt {attempt_id} is {data['status']}"))

    async def until(
        self, attempt_id: str, holds: Callable[[AttemptNews], bool], what: str, timeout: float = 60.0
    ) -> AttemptNews:
        """The attempt's news once `holds` is true of them (at once if it is already)."""
        news = self._news.setdefault(attempt_id, AttemptNews())
        if holds(news):
            return news
        ended = [status for status in news.statuses if status in ENDED]
        if ended:
            raise Unheard(f"attempt {attempt_id} is {ended[-1]}")
        future: asyncio.Future[AttemptNews] = asyncio.get_running_loop().create_future()
        waiter = (holds, future)
        waiters = self._waiting.setdefault(attempt_id, [])
        waiters.append(waiter)
        try:
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            raise Unheard(
                f"attempt {attempt_id}: no event said {what} within {timeout:.0f}s "
                f"(statuses announced: {news.statuses})"
            ) from None
        finally:
            waiters.remove(waiter)
            if not waiters:
                del self._waiting[attempt_id]


def _epoch_seconds(timestamp: str) -> float:
    try:
        moment = datetime.fromisoformat(timestamp)
    except (TypeError, ValueError):
        return math.nan
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


# --- The channels ----------------------------------------------------------------------------


@asynccontextmanager
async def listening(api: httpx.AsyncClient, inbox: Inbox, channel: str) -> AsyncIterator[str]:
    """Events flow into `inbox` until the block ends; yields where they come from (for the
    progress line). `api` is the LMS's client of /api/v1."""
    if channel == "feed":
        reader = asyncio.create_task(_read_feed(api, inbox), name="bench-event-feed")
        try:
            yield f"the feed (GET /events, long polls of {FEED_WAIT}s)"
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
        return
    if channel != "webhook":
        raise ValueError(f"events come by {' or '.join(CHANNELS)}, not {channel!r}")
    receiver = _WebhookReceiver(inbox, asyncio.get_running_loop())
    server = serve_in_thread(receiver.app, free_port())
    # uvicorn's thread starts and stops off the loop: its waits would hold up every attempt.
    base_url = await asyncio.to_thread(server.__enter__)
    try:
        url = base_url + ENDPOINT_PATH
        reply = await api.put("/event-endpoint", json={"url": url})
        if reply.status_code != 200:
            raise Unheard(f"PUT /event-endpoint: {reply.status_code} {reply.text[:300]}")
        receiver.verify_with(reply.json()["secret"])
        yield f"webhooks to {url}"
    finally:
        try:
            # Pending deliveries are cancelled: the next phases run without an endpoint.
            with contextlib.suppress(httpx.HTTPError):
                await api.delete("/event-endpoint")
        finally:
            await asyncio.to_thread(server.__exit__, None, None, None)


class _WebhookReceiver:
    """The LMS's endpoint. Runs in uvicorn's thread; hands each verified event to the driver's loop."""

    def __init__(self, inbox: Inbox, loop: asyncio.AbstractEventLoop) -> None:
        self._inbox = inbox
        self._loop = loop
        self._webhook: Webhook | None = None
        self.app = Starlette(routes=[Route(ENDPOINT_PATH, self._deliver, methods=["POST"])])

    def verify_with(self, secret: str) -> None:
        self._webhook = Webhook(secret)

    async def _deliver(self, request: Request) -> Response:
        body = await request.body()
        if self._webhook is None:  # before the endpoint's secret is known: try again later
            return Response(status_code=503)
        try:
            event = self._webhook.verify(body, dict(request.headers))
        except WebhookVerificationError:
            self._loop.call_soon_threadsafe(self._inbox.counts.update, ["rejected"])
            return Response(status_code=401)
        arrived = time.perf_counter()
        self._loop.call_soon_threadsafe(
            self._inbox.receive,
            request.headers["webhook-id"],
            event["type"],
            event["data"],
            event["timestamp"],
            arrived,
        )
        return Response(status_code=204)


async def _read_feed(api: httpx.AsyncClient, inbox: Inbox) -> None:
    cursor = "0"  # the system is fresh: from its first event on
    while True:
        try:
            reply = await api.get("/events", params={"after": cursor, "limit": FEED_LIMIT, "wait": FEED_WAIT})
            reply.raise_for_status()
        except httpx.HTTPError:
            inbox.counts["feed_errors"] += 1
            await asyncio.sleep(FEED_RETRY)
            continue
        arrived = time.perf_counter()
        page = reply.json()
        for event in page["events"]:
            inbox.receive(event["id"], event["type"], event["data"], event["timestamp"], arrived)
        cursor = page["next_cursor"]
