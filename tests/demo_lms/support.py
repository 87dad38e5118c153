"""The demo LMS for tests: served on a free port against a running stack, as a separate app that
knows ProctorFlow only by its API URL and the organisation's token; and learners' browsers
without JavaScript (plain HTTP clients holding the demo LMS's cookie)."""

from __future__ import annotations

import asyncio
import inspect
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI

from demo_lms.app import create_app
from demo_lms.ledger import Ledger
from demo_lms.settings import DemoLmsSettings
from tests.support.servers import free_port, serve_in_thread
from tests.support.stack import Stack

COOKIE_KEY = "demo-lms-test-cookie-key"
ALL_RIGHT = {"q1": "spindle", "q2": "monthly", "q3": "yellow"}
ONE_WRONG = {"q1": "spindle", "q2": "never", "q3": "yellow"}


@dataclass
class DemoLms:
    base_url: str
    app: FastAPI
    settings: DemoLmsSettings

    @property
    def ledger(self) -> Ledger:
        return self.app.state.ledger

    @asynccontextmanager
    async def learner(self, learner_id: str = "learner-ada") -> AsyncIterator[httpx.AsyncClient]:
        """A browser without JavaScript, signed in as one of the demo learners."""
        async with httpx.AsyncClient(base_url=self.base_url, timeout=30) as browser:
            chosen = await browser.post("/who", data={"learner_id": learner_id, "next": "/"})
            assert chosen.status_code == 303, chosen.text
            yield browser


@asynccontextmanager
async def serving_demo_lms(stack: Stack, courses: str = "") -> AsyncIterator[DemoLms]:
    """Start and stop it off the event loop: the worker's event deliveries share this loop."""
    port = free_port()
    settings = DemoLmsSettings(
        host="127.0.0.1",
        port=port,
        api_url=f"{stack.base_url}/api/v1",
        token=stack.token,
        courses=courses,
        cookie_key=COOKIE_KEY,
        connect_timeout=10,
    )
    app = create_app(settings)
    server = serve_in_thread(app, port)
    base_url = await asyncio.to_thread(server.__enter__)
    try:
        yield DemoLms(base_url, app, settings)
    finally:
        await asyncio.to_thread(server.__exit__, None, None, None)


async def eventually(check: Callable[[], Any], what: str = "the condition", timeout: float = 20.0) -> Any:
    """Poll `check` (plain, or returning an awaitable) until it gives something truthy; that."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = check()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)


def lesson_path(course_id: str, lesson_id: str = "exam") -> str:
    return f"/courses/{course_id}/lessons/{lesson_id}"


def attempt_id_on(page: httpx.Response) -> str:
    found = re.search(r'data-live-url="/live/attempts/([^"]+)"', page.text)
    assert found, f"no attempt on the page:\n{page.text}"
    return found.group(1)


async def setup_link(browser: httpx.AsyncClient, attempt_id: str) -> str:
    """ProctorFree's set-up link, as the lesson page picks it up live."""

    async def link() -> str | None:
        return (await browser.get(f"/live/attempts/{attempt_id}")).json()["links"].get("setup:link")

    return await eventually(link, "the set-up link")


async def started_attempt(stack: Stack, browser: httpx.AsyncClient, course_id: str) -> dict:
    """Open the lesson and start the ProctorFree session as the learner would; the attempt."""
    attempt_id = attempt_id_on(await browser.get(lesson_path(course_id)))
    await setup_link(browser, attempt_id)
    attempt = (await stack.api.get(f"/attempts/{attempt_id}")).json()
    await stack.control("start", attempt["vendor_session_id"])
    return await stack.wait_for_attempt(attempt_id, lambda a: a["status"] == "in_progress")
