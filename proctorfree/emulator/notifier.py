"""Delivers the emulator's signed webhooks, in the background, without ever failing a request."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import defaultdict
from collections.abc import Coroutine
from datetime import datetime
from typing import Any

import httpx

from proctorfree.emulator.state import EmulatedSession, EmulatorState
from proctorfree.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, WebhookEvent, sign

log = logging.getLogger(__name__)

DELIVERY_ATTEMPTS = 3
DELIVERY_TIMEOUT_SECONDS = 2.0
RETRY_BACKOFF_SECONDS = 0.2


class Background:
    """Fire-and-forget tasks, referenced until done so the loop does not drop them mid-flight."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # called outside a server (e.g. state driven directly): skip
            coro.close()
            return
        task = loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


class WebhookNotifier:
    """A state listener that POSTs each session event to the configured webhook URL."""

    def __init__(self, url: str | None, secret: str, state: EmulatorState, background: Background) -> None:
        self.url = url
        self._secret = secret
        self._state = state
        self._background = background
        # One delivery at a time per session keeps its events in emitted order; sessions do not
        # wait for each other, as a real vendor's deliveries would not. (A lock per session, kept
        # as long as the emulator keeps the session itself.)
        self._in_order: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._http: httpx.AsyncClient | None = None  # one connection pool, made on the server's loop

    def on_event(
        self, event_type: str, session: EmulatedSession, at: datetime, fields: dict[str, Any]
    ) -> None:
        if not self.url or not self._state.knobs.send_webhooks:
            return
        event = WebhookEvent(
            event_id=uuid.uuid4().hex,
            type=event_type,
            session_id=session.session_id,
            external_id=session.external_id,
            occurred_at=at,
            **fields,
        )
        self._background.spawn(self._deliver(self.url, event))

    async def _deliver(self, url: str, event: WebhookEvent) -> None:
        body = event.model_dump_json().encode()
        async with self._in_order[event.session_id]:
            delivered = await self._deliver_with_retries(url, body)
        if delivered:
            self._state.stats.webhooks_sent += 1
            return
        self._state.stats.webhooks_failed += 1
        log.warning("webhook %s (%s) not delivered to %s", event.event_id, event.type, url)

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()

    async def _deliver_with_retries(self, url: str, body: bytes) -> bool:
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=DELIVERY_TIMEOUT_SECONDS)
        for attempt in range(DELIVERY_ATTEMPTS):
            if await self._post_once(self._http, url, body):
                return True
            if attempt + 1 < DELIVERY_ATTEMPTS:
                await asyncio.sleep(RETRY_BACKOFF_SECONDS * 2**attempt)
        return False

    async def _post_once(self, http: httpx.AsyncClient, url: str, body: bytes) -> bool:
        timestamp = int(time.time())  # signed afresh per attempt, so retries are not stale
        headers = {
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: sign(self._secret, timestamp, body),
        }
        try:
            response = await http.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            log.info("webhook delivery to %s failed: %s", url, type(exc).__name__)
            return False
        return response.is_success
