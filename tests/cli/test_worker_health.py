"""The worker's probes (PROCTORFLOW_HEALTH_PORT): ready while Temporal sees it poll both of its
task queues, unready when it cannot poll (the real dev server stopped), ready again when the
server is back; `/livez` answers throughout."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx

from cli.worker import activity_executor, running_workers
from cli.worker_health import serving_health
from proctorflow.crypto import SecretBox
from proctorfree.client import ProctorFreeClient
from store.db import make_engine, session_factory
from tests.conftest import start_dev_server
from tests.support.database import fresh_database_url
from tests.support.keys import TEST_PAYLOAD_KEYS
from tests.support.probes import answer_until
from tests.support.servers import HOST, free_port
from tests.support.settings import loopback_settings


async def started_task_on(http: httpx.AsyncClient, queue: str, timeout: float = 30) -> str | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        started = (await http.get("/healthz")).json()["last_task_started"][queue]
        if started:
            return started
        await asyncio.sleep(0.5)
    return None


async def test_worker_is_ready_while_it_polls_unready_when_temporal_is_gone_and_ready_again(tmp_path: Path):
    temporal = await start_dev_server()
    address = temporal.client.service_client.config.target_host
    settings = loopback_settings(fresh_database_url(tmp_path), address, "worker-health", TEST_PAYLOAD_KEYS)
    engine = make_engine(settings.database_url)
    box = SecretBox(settings.secret_key or "")
    port = free_port()
    loop = asyncio.get_running_loop()
    with activity_executor(settings) as executor:
        async with (
            ProctorFreeClient(settings.proctorfree_url, timeout=5) as backend,
            running_workers(
                temporal.client, settings, backend, session_factory(engine), box, executor
            ) as health,
        ):
            with serving_health(health, HOST, port, loop):
                async with httpx.AsyncClient(base_url=f"http://{HOST}:{port}", timeout=15) as http:
                    ready = await answer_until(http, "/healthz", 200)
                    assert ready.status_code == 200, ready.text
                    body = ready.json()
                    queues = (settings.task_queue, settings.event_task_queue)
                    assert {f"polling {queue}" for queue in queues} == set(body["checks"])
                    assert all(check["ok"] for check in body["checks"].values())
                    # The events' dispatcher runs an activity as soon as the worker starts.
                    started = await started_task_on(http, settings.event_task_queue)
                    assert started is not None

                    await temporal.shutdown()
                    down = await answer_until(http, "/healthz", 503)
                    assert down.status_code == 503, down.text
                    assert down.json()["status"] == "unavailable"
                    assert not any(check["ok"] for check in down.json()["checks"].values())
                    assert (await http.get("/livez")).json() == {"status": "ok"}

                    temporal = await start_dev_server(port=int(address.split(":")[1]))
                    back = await answer_until(http, "/healthz", 200)
                    assert back.status_code == 200, back.text
                    assert (await http.get("/elsewhere")).status_code == 404
    await temporal.shutdown()
    engine.dispose()
