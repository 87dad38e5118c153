"""Health checks the web app and the worker answer probes with (`/healthz`): each says whether
one part it depends on answers, in words an operator can act on, never with a secret, a host
name or a driver's message in it (the endpoints answer anyone who reaches the port)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest, GetSystemInfoRequest
from temporalio.client import Client

log = logging.getLogger("proctorflow.health")

CHECK_TIMEOUT = timedelta(seconds=3)  # well inside a probe's usual 5-second timeout
# A worker polls each task queue again at least once a minute (a long poll lasts up to ~70 s);
# Temporal lists a poller for 5 minutes after its last poll, so a poll older than this means
# the worker has stopped polling even though the server still lists it.
POLL_FRESHNESS = timedelta(minutes=2)


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class Report:
    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    @property
    def status_code(self) -> int:
        return 200 if self.ok else 503

    def as_json(self) -> dict:
        return {
            "status": "ok" if self.ok else "unavailable",
            "checks": {check.name: {"ok": check.ok, "detail": check.detail} for check in self.checks},
        }


async def report(checks: Sequence[Callable[[], Awaitable[Check]]]) -> Report:
    return Report(tuple(await asyncio.gather(*(check() for check in checks))))


async def temporal_check(client: Client) -> Check:
    try:
        await client.workflow_service.get_system_info(
            GetSystemInfoRequest(), retry=False, timeout=CHECK_TIMEOUT
        )
    except Exception as error:
        log.warning("health: Temporal did not answer: %r", error)
        return Check("temporal", False, f"Temporal did not answer ({type(error).__name__})")
    return Check("temporal", True, "answers")


async def polling_check(client: Client, task_queue: str, identity: str, now: datetime | None = None) -> Check:
    """Temporal has seen this worker (by its identity) poll the task queue lately: the worker
    reaches Temporal, its namespace and its queue, with credentials Temporal accepts."""
    name = f"polling {task_queue}"
    try:
        answer = await client.workflow_service.describe_task_queue(
            DescribeTaskQueueRequest(
                namespace=client.namespace,
                task_queue=TaskQueue(name=task_queue),
                task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
            ),
            retry=False,
            timeout=CHECK_TIMEOUT,
        )
    except Exception as error:
        log.warning("health: cannot ask Temporal about %s: %r", task_queue, error)
        return Check(name, False, f"Temporal did not answer ({type(error).__name__})")
    polls = [p.last_access_time.ToDatetime(UTC) for p in answer.pollers if p.identity == identity]
    if not polls:
        return Check(name, False, "Temporal has seen no poll from this worker yet")
    age = (now or datetime.now(UTC)) - max(polls)
    if age > POLL_FRESHNESS:
        return Check(name, False, f"last poll {age.total_seconds():.0f} s ago")
    return Check(name, True, f"last poll {max(age.total_seconds(), 0):.0f} s ago")
