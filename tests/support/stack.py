"""The whole system for API, UI and end-to-end tests, on free ports and a temporary folder:
the web app and the ProctorFree emulator over real HTTP (the emulator's signed webhooks go to
the web app), a migrated SQLite database, and a worker on the given Temporal server."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from temporalio.client import Client

from cli.worker import activity_executor, running_workers
from proctorflow.crypto import SecretBox
from proctorflow.settings import Settings
from proctorfree.client import ProctorFreeClient
from proctorfree.emulator.app import create_app as create_emulator
from store.db import make_engine, session_factory
from tests.support.database import fresh_database_url
from tests.support.keys import TEST_PAYLOAD_KEYS
from tests.support.servers import serve_in_thread
from tests.support.settings import loopback_settings
from web.app import create_app

# Clocks short enough for the dev server: polls every second, windows of minutes.
QUICK = dict(
    session_poll_interval=1,
    session_poll_max_interval=2,
    audit_poll_interval=1,
    audit_deadline=600,
    finish_window=600,
    exam_result_window=600,
    token_cache_seconds=1,
    event_first_retry=0.2,
    event_max_retry=1.0,
    event_delivery_timeout=2.0,
)


@dataclass
class Stack:
    base_url: str
    emulator_url: str
    token: str
    settings: Settings
    client: Client
    sessions: Any
    api: httpx.AsyncClient  # authorised as the LMS
    emulator: httpx.AsyncClient

    async def control(self, action: str, session_id: str, **body: Any) -> dict:
        """The emulator's control API: a scripted learner or ProctorFree's auditor."""
        response = await self.emulator.post(f"/emulator/sessions/{session_id}/{action}", json=body or None)
        response.raise_for_status()
        return response.json()

    async def wait_for_attempt(self, attempt_id: str, predicate, timeout: float = 30.0) -> dict:
        """Poll GET /attempts/{id} until `predicate(body)` holds."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            body = (await self.api.get(f"/attempts/{attempt_id}")).json()
            if predicate(body):
                return body
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"timed out waiting on attempt {attempt_id}; last: {body}")
            await asyncio.sleep(0.1)


@asynccontextmanager
async def running_stack(
    client: Client, tmp_path: Path, webhooks: bool = True, audit_delay: float = 3600.0, **overrides: Any
) -> AsyncIterator[Stack]:
    database_url = await asyncio.to_thread(fresh_database_url, tmp_path)
    settings = loopback_settings(
        database_url,
        # The web app runs on its own event loop in a thread: it connects a client of its own.
        client.service_client.config.target_host,
        f"test-{uuid.uuid4().hex[:8]}",
        TEST_PAYLOAD_KEYS,
        codec_token=f"codec-{uuid.uuid4().hex}",
        **{**QUICK, **overrides},
    )
    token, web_port, emulator_port = settings.lms_token, settings.http_port, settings.emulator_port
    webhook_url = f"{settings.public_url}/api/v1/webhooks/proctorfree" if webhooks else None
    emulator_app = create_emulator(
        webhook_url=webhook_url, webhook_secret=settings.webhook_secret, audit_delay_seconds=audit_delay
    )
    engine = make_engine(database_url)
    sessions = session_factory(engine)
    box = SecretBox(settings.secret_key or "")
    with (
        serve_in_thread(emulator_app, emulator_port) as emulator_url,
        activity_executor(settings) as executor,
    ):
        async with ProctorFreeClient(emulator_url, timeout=5) as backend:  # noqa: SIM117 (a sync server inside async contexts)
            async with running_workers(client, settings, backend, sessions, box, executor):
                with serve_in_thread(create_app(settings), web_port) as base_url:
                    async with (
                        httpx.AsyncClient(
                            base_url=f"{base_url}/api/v1",
                            headers={"Authorization": f"Bearer {token}"},
                            timeout=30,
                        ) as api,
                        httpx.AsyncClient(base_url=emulator_url, timeout=10) as emulator,
                    ):
                        yield Stack(base_url, emulator_url, token, settings, client, sessions, api, emulator)
    engine.dispose()
