"""The worker's probes, beside its metrics: `GET /livez` (its event loop answers within a few
seconds; a loop blocked that long is stuck, so restart it) and `GET /healthz` (ready: Temporal
has seen it poll each of its task queues lately; 503 when it cannot poll). Both answer JSON;
`/healthz` also says when this worker last started a task (an activity or local activity) on
each queue, for an operator asking "is it doing anything?".

Served by the standard library's HTTP server on a thread of its own, so a busy or blocked event
loop cannot hide from the probe that watches it."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from temporalio import activity
from temporalio.client import Client
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor

from proctorflow.health import CHECK_TIMEOUT, polling_check, report

log = logging.getLogger("proctorflow.worker")

LIVENESS_TIMEOUT = 5.0  # seconds the event loop has to run a no-op for /livez


class LastTasks(Interceptor):
    """Remembers when this worker last started an activity (local ones included) per task queue."""

    def __init__(self) -> None:
        self.started: dict[str, datetime] = {}

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _Noting(next, self.started)


class _Noting(ActivityInboundInterceptor):
    def __init__(self, next: ActivityInboundInterceptor, started: dict[str, datetime]) -> None:
        super().__init__(next)
        self._started = started

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        self._started[activity.info().task_queue] = datetime.now(UTC)
        return await super().execute_activity(input)


class WorkerHealth:
    def __init__(self, client: Client, task_queues: Sequence[str], tasks: LastTasks) -> None:
        self.client = client
        self.task_queues = tuple(task_queues)
        self.tasks = tasks

    async def readiness(self) -> tuple[int, dict]:
        answer = await report(
            [
                lambda queue=queue: polling_check(self.client, queue, self.client.identity)
                for queue in self.task_queues
            ]
        )
        last = {queue: _iso(self.tasks.started.get(queue)) for queue in self.task_queues}
        return answer.status_code, {**answer.as_json(), "last_task_started": last}


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") if moment else None


@contextmanager
def serving_health(
    health: WorkerHealth, host: str, port: int, loop: asyncio.AbstractEventLoop
) -> Iterator[ThreadingHTTPServer]:
    """The probes on host:port until the block ends."""

    class Probes(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
            if self.path == "/livez":
                self._answer(*_on_loop(loop, _alive(), LIVENESS_TIMEOUT, "the event loop"))
            elif self.path == "/healthz":
                wait = CHECK_TIMEOUT.total_seconds() + LIVENESS_TIMEOUT
                self._answer(*_on_loop(loop, health.readiness(), wait, "the readiness check"))
            else:
                self._answer(404, {"detail": "probes: GET /livez, GET /healthz"})

        def _answer(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Cache-Control", "no-store")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # probes every few seconds: quiet
            pass

    server = ThreadingHTTPServer((host, port), Probes)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="health", daemon=True)
    thread.start()
    log.info("health probes at http://%s:%d/healthz and /livez", host, server.server_address[1])
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


async def _alive() -> tuple[int, dict]:
    return 200, {"status": "ok"}


def _on_loop(loop: asyncio.AbstractEventLoop, work, timeout: float, what: str) -> tuple[int, dict]:
    try:
        future = asyncio.run_coroutine_threadsafe(work, loop)
    except RuntimeError:  # the loop has closed: the worker is stopping
        work.close()
        return 503, {"status": "unavailable", "detail": "the worker is stopping"}
    try:
        return future.result(timeout=timeout)
    except FutureTimeout:
        future.cancel()
        return 503, {"status": "unavailable", "detail": f"{what} did not answer within {timeout:.0f} s"}
