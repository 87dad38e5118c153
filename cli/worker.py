"""The worker's wiring: the attempt workflow and its activities on one Temporal worker.

`proctorflow worker` (or `python worker.py`) runs it until SIGINT or SIGTERM, then finishes the
activities in hand before it stops. The tests build the same worker with `build_worker`.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from datetime import timedelta

import httpx
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.worker import Interceptor, Worker

from activities.events import EventActivities, RetryTiming
from activities.notices import NoticeActivities
from activities.records import RecordActivities
from activities.vendor import VendorActivities
from cli.notices import start_notices
from cli.worker_health import LastTasks, WorkerHealth, serving_health
from proctorflow.crypto import SecretBox
from proctorflow.settings import Settings
from proctorfree.client import ProctorFreeClient
from proctorfree.interface import ProctorFreeBackend
from store.db import SessionFactory, make_engine, session_factory
from store.health import require_schema
from workflows.attempt import AttemptWorkflow
from workflows.event_delivery import EventDispatchWorkflow, EventStreamWorkflow
from workflows.notices import NOTICE_WORKFLOWS

log = logging.getLogger("proctorflow.worker")

SHUTDOWN_GRACE = timedelta(seconds=20)


def activity_executor(settings: Settings) -> ThreadPoolExecutor:
    """Threads for the synchronous activities (the database writes): one per activity slot."""
    return ThreadPoolExecutor(max_workers=settings.worker_activities, thread_name_prefix="activity")


def build_worker(
    client: Client,
    settings: Settings,
    backend: ProctorFreeBackend,
    sessions: SessionFactory,
    box: SecretBox,
    executor: ThreadPoolExecutor,
    interceptors: Sequence[Interceptor] = (),
) -> Worker:
    vendor = VendorActivities(backend, sessions, box)
    records = RecordActivities(sessions)
    return Worker(
        client,
        task_queue=settings.task_queue,
        workflows=[AttemptWorkflow],
        activities=[
            vendor.create_session,
            vendor.check_session_finished,
            vendor.check_audit,
            vendor.close_session,
            vendor.set_time_limit,
            records.record_steps,
            records.complete_attempt,
            records.record_decision,
        ],
        activity_executor=executor,
        max_concurrent_workflow_tasks=settings.worker_workflow_tasks,
        max_concurrent_activities=settings.worker_activities,
        max_cached_workflows=settings.worker_cached_workflows,
        graceful_shutdown_timeout=SHUTDOWN_GRACE,
        interceptors=interceptors,
    )


def build_event_worker(
    client: Client,
    settings: Settings,
    sessions: SessionFactory,
    box: SecretBox,
    http: httpx.AsyncClient,
    executor: ThreadPoolExecutor,
    interceptors: Sequence[Interceptor] = (),
) -> Worker:
    """The events to the LMS on their own task queue and slots (`workflows/event_delivery.py`),
    and the e-mail notices (`workflows/notices.py`)."""
    events = EventActivities(
        sessions,
        box,
        http,
        settings.event_task_queue,
        RetryTiming(settings.event_first_retry, settings.event_max_retry),
    )
    notices = NoticeActivities(sessions, settings)
    return Worker(
        client,
        task_queue=settings.event_task_queue,
        workflows=[EventStreamWorkflow, EventDispatchWorkflow, *NOTICE_WORKFLOWS],
        activities=[
            *(events.dispatch, events.pending_events, events.deliver_event, events.give_up),
            *(notices.dispatch_notices, notices.send_notice, notices.give_up_notice, notices.queue_digests),
        ],
        activity_executor=executor,
        max_concurrent_activities=settings.worker_event_deliveries + 2,  # the two dispatchers' own
        graceful_shutdown_timeout=SHUTDOWN_GRACE,
        interceptors=interceptors,
    )


async def start_event_dispatch(client: Client, settings: Settings) -> None:
    """The one dispatcher of this task queue's events, if none runs (every worker asks)."""
    await client.start_workflow(
        EventDispatchWorkflow.run,
        id=f"event-dispatch-{settings.task_queue}",
        task_queue=settings.event_task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )


@asynccontextmanager
async def running_workers(
    client: Client,
    settings: Settings,
    backend: ProctorFreeBackend,
    sessions: SessionFactory,
    box: SecretBox,
    executor: ThreadPoolExecutor,
) -> AsyncIterator[WorkerHealth]:
    """The attempts' worker and the events' worker, running until the block ends; yields their
    health (`cli/worker_health.py`)."""
    threads = settings.worker_event_deliveries + 2  # a slot each, and the two dispatchers
    tasks = LastTasks()
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="events") as own_executor:
        async with httpx.AsyncClient(timeout=settings.event_delivery_timeout) as http:
            attempts = build_worker(client, settings, backend, sessions, box, executor, [tasks])
            deliveries = build_event_worker(client, settings, sessions, box, http, own_executor, [tasks])
            async with attempts, deliveries:
                await start_event_dispatch(client, settings)
                await start_notices(client, settings)
                yield WorkerHealth(client, [settings.task_queue, settings.event_task_queue], tasks)


async def run_worker(settings: Settings, box: SecretBox) -> None:
    from cli.common import temporal_client
    from proctorflow.metrics import prometheus_runtime

    runtime = None
    if settings.metrics_port:
        runtime = prometheus_runtime(settings.metrics_host, settings.metrics_port)
        log.info("Prometheus metrics at http://%s:%d/metrics", settings.metrics_host, settings.metrics_port)
    engine = make_engine(settings.database_url)
    require_schema(engine, settings.database_url)
    client = await temporal_client(settings, runtime=runtime)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    with activity_executor(settings) as executor:
        async with ProctorFreeClient(
            settings.proctorfree_url, timeout=settings.proctorfree_timeout
        ) as backend:
            log.info("worker polling task queue %s at %s", settings.task_queue, settings.temporal_address)
            async with running_workers(
                client, settings, backend, session_factory(engine), box, executor
            ) as health:
                with _probes(settings, health, loop):
                    await stop.wait()
                    log.info("stopping: finishing the activities in hand")
    engine.dispose()


@contextmanager
def _probes(settings: Settings, health: WorkerHealth, loop: asyncio.AbstractEventLoop) -> Iterator[None]:
    if settings.health_port is None:
        yield
        return
    with serving_health(health, settings.health_host, settings.health_port, loop):
        yield


def main() -> int:
    """`python worker.py`: the same as `proctorflow worker`, its refusals included."""
    from cli import main as proctorflow

    return proctorflow(["worker"])
