"""Chaos: 120 proctored attempts at once, driven through the LMS API and ProctorFree's control
API as the LMS, the learners and a reviewer would, while the worker process is SIGKILLed and
started again, the Temporal server is killed and started again on its database file, and
ProctorFree fails about one call in ten (5xx, timeouts, 429 with Retry-After, malformed bodies).

Afterwards the database must tell that every attempt completed and that every side effect
happened exactly once. Reproduce with `make test PYTEST_ARGS="-s tests/reliability/test_chaos.py"`.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func
from sqlmodel import Session, col, select
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from models.statuses import TERMINAL
from models.tables import Attempt, AttemptEvent, Certificate, CourseProgress, LessonProgress, ReviewTask
from proctorflow.codec import new_key_spec
from proctorflow.settings import Settings
from proctorfree.emulator.app import create_app as create_emulator
from proctorfree.emulator.faults import Faults
from store.db import SessionFactory, make_engine, session_factory
from tests.reliability.support import (
    LESSONS,
    Driver,
    LessonPlan,
    Tally,
    TemporalServer,
    WorkerProcess,
    injected_faults,
    learner_ids,
)
from tests.support.database import fresh_database_url
from tests.support.servers import serve_in_thread
from tests.support.settings import loopback_settings
from tests.support.stack import QUICK
from web.app import create_app

LEARNERS = 30
FAILED_BY_REVIEWER = {learner for i, learner in enumerate(learner_ids(LEARNERS)) if i % 5 == 4}
FAULTS = Faults(
    error_rate=0.1,
    error_kinds=["5xx", "timeout", "429", "malformed"],
    timeout_seconds=1.5,  # the worker gives up after 1 s (PROCTORFLOW_PROCTORFREE_TIMEOUT)
    retry_after_seconds=1,
    seed=20240611,
)
# Seconds after the attempts start: what is killed. Each finds attempts in flight: three worker
# kills and the Temporal crash come within 20 s, before the quickest run (about 25 s) is done.
CHAOS = (
    (5.0, "worker"),
    (10.0, "worker"),
    (15.0, "worker"),
    (20.0, "temporal"),
    (30.0, "worker"),
    (45.0, "worker"),
)
DRIVE_BUDGET = 240.0  # the run takes 45-130 s on a 2-core machine, alone or beside a full test suite


async def test_every_attempt_completes_exactly_once_through_worker_kills_a_temporal_restart_and_faults(
    tmp_path,
):
    began = time.monotonic()
    async with running_system(tmp_path, proctorfree_timeout=1.0) as system, clients(system) as (api, vendor):
        course_id = f"chaos-{uuid.uuid4().hex[:8]}"
        await seed_course(api, course_id)
        calls_before_faults = _api_calls((await vendor.get("/emulator/stats")).json())
        knobs = FAULTS.model_dump(
            include={"error_rate", "error_kinds", "timeout_seconds", "retry_after_seconds", "seed"}
        )
        (await vendor.put("/emulator/faults", json=knobs)).raise_for_status()

        tally = Tally()
        driver = Driver(api, vendor, course_id, tally, deadline=time.monotonic() + DRIVE_BUDGET)
        chaos_log: list[str] = []
        done = asyncio.Event()
        chaos = asyncio.create_task(unleash_chaos(system, done, chaos_log))
        try:
            async with asyncio.TaskGroup() as group:
                runs = [
                    group.create_task(driver.take(learner, lesson, fail=_fails(learner, lesson)))
                    for learner in learner_ids(LEARNERS)
                    for lesson in LESSONS
                ]
        except* AssertionError as failed:
            stuck = await asyncio.to_thread(_unfinished, system, course_id)
            post_mortem = [await _post_mortem(system, attempt) for attempt in stuck[:3]]
            raise AssertionError(
                f"{len(stuck)} attempts unfinished; {chaos_log}; post-mortem: {post_mortem}"
            ) from failed
        finally:
            done.set()
            await chaos
        stats = (await vendor.get("/emulator/stats")).json()
        attempts = [run.result() for run in runs]

        with system.sessions() as session:
            assert_every_attempt_completed_once(session, course_id, set(attempts))
            assert_side_effects_happened_once(session, course_id, stats)
        await assert_no_workflow_left_running(system, course_id, len(attempts))

    faults = injected_faults(FAULTS, _api_calls(stats) - calls_before_faults)
    summary = {
        "attempts": len(attempts),
        "learners": LEARNERS,
        "chaos": chaos_log,
        "worker_kills": system.worker.kills,
        "temporal_restarts": system.temporal.restarts,
        "vendor_api_calls": _api_calls(stats) - calls_before_faults,
        "faults_injected": dict(faults),
        "webhooks_sent": stats["webhooks_sent"],
        "webhooks_failed": stats["webhooks_failed"],
        "web_app_5xx_retried": dict(tally.server_errors),
        "connection_errors_retried": dict(tally.transport_errors),
        "decisions_answered_409": dict(tally.conflicts),
        "wall_time_s": round(time.monotonic() - began, 1),
    }
    print("\nCHAOS SUMMARY", summary)
    assert system.worker.kills >= 3 and system.temporal.restarts == 1, chaos_log
    assert sum(faults.values()) > 0


# --- The whole system, with its parts as processes where a crash must be survivable ----------


@dataclass
class System:
    settings: Settings
    temporal: TemporalServer
    worker: WorkerProcess
    client: Client
    sessions: SessionFactory
    base_url: str
    emulator_url: str


@asynccontextmanager
async def running_system(tmp_path: Path, **overrides: Any) -> AsyncIterator[System]:
    """Temporal and the worker as child processes; the web app and the ProctorFree emulator
    (its signed webhooks going to the web app) served in this process on free ports; a
    migrated database all of them share (SQLite; PostgreSQL under PROCTORFLOW_TEST_POSTGRES)."""
    temporal = TemporalServer(tmp_path / "temporal")
    settings = loopback_settings(
        await asyncio.to_thread(fresh_database_url, tmp_path),
        temporal.address,
        f"reliability-{uuid.uuid4().hex[:8]}",
        new_key_spec("reliability-1"),
        **{**QUICK, **overrides},
    )
    web_port, emulator_port = settings.http_port, settings.emulator_port
    # For a post-mortem of a failed run: with this key ring `temporal workflow show` output decodes.
    (tmp_path / "payload.keys").write_text(settings.payload_keys or "")
    engine = make_engine(settings.database_url)
    worker = WorkerProcess(settings)
    emulator = create_emulator(
        webhook_url=f"{settings.public_url}/api/v1/webhooks/proctorfree",
        webhook_secret=settings.webhook_secret,
        audit_delay_seconds=3600,  # the scripted auditor decides when an audit lands
    )
    try:
        client = await temporal.start(settings)
        with serve_in_thread(emulator, emulator_port) as emulator_url:
            worker.start()
            with serve_in_thread(create_app(settings), web_port) as base_url:
                yield System(
                    settings, temporal, worker, client, session_factory(engine), base_url, emulator_url
                )
    finally:
        worker.stop()
        temporal.stop()
        engine.dispose()


# --- The system and its scripted users ------------------------------------------------------


@asynccontextmanager
async def clients(system: System) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    headers = {"Authorization": f"Bearer {system.settings.lms_token}"}
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with (
        httpx.AsyncClient(
            base_url=f"{system.base_url}/api/v1", headers=headers, timeout=120, limits=limits
        ) as api,
        httpx.AsyncClient(base_url=system.emulator_url, timeout=30, limits=limits) as vendor,
    ):
        yield api, vendor


async def seed_course(api: httpx.AsyncClient, course_id: str) -> None:
    """One course with a lesson of each kind, through the API, before ProctorFree misbehaves."""
    integration = await api.post(
        "/integrations", json={"name": "Chaos ProctorFree", "api_key": "pf-key-chaos", "api_secret": "s3cr3t"}
    )
    assert integration.status_code == 201, integration.text
    lessons = [
        {"id": lesson.id, "title": lesson.id.title(), "type": "quiz", "required": lesson.required}
        for lesson in LESSONS
    ]
    settings = {"score_lesson_id": "final", "complete_on_failure": False, "certificate": True}
    course = await api.put(
        f"/courses/{course_id}", json={"title": "Chaos", "lessons": lessons, "settings": settings}
    )
    assert course.status_code == 200, course.text
    for lesson in LESSONS:
        proctoring = {
            "integration_id": integration.json()["id"],
            "method": lesson.method,
            "requires_validation": lesson.requires_validation,
        }
        reply = await api.put(f"/courses/{course_id}/lessons/{lesson.id}/proctoring", json=proctoring)
        assert reply.status_code == 200, reply.text


async def unleash_chaos(system: System, done: asyncio.Event, log: list[str]) -> None:
    """Kill the worker (and restart it at once: a new process takes seconds to boot) and crash
    Temporal, on schedule, while attempts are in flight; a worker that died on its own is
    started again and reported."""
    loop = asyncio.get_running_loop()
    began = loop.time()
    for at, target in CHAOS:
        while loop.time() - began < at:
            if done.is_set():
                return
            if not system.worker.alive():
                log.append(f"{loop.time() - began:.0f}s worker exited by itself: restarted")
                system.worker.start()
            await asyncio.sleep(0.5)
        in_flight = await asyncio.to_thread(_open_attempts, system)
        if target == "worker":
            system.worker.kill()
            system.worker.start()
        else:
            await system.temporal.crash_and_restart(system.settings)
        log.append(f"{at:.0f}s {target} killed with {in_flight} attempts open")


# --- What must hold afterwards ----------------------------------------------------------------


def assert_every_attempt_completed_once(session: Session, course_id: str, attempt_ids: set[str]) -> None:
    attempts = session.exec(select(Attempt).where(Attempt.course_id == course_id)).all()
    assert {a.id for a in attempts} == attempt_ids and len(attempts) == LEARNERS * len(LESSONS)
    unfinished = [(a.id, a.lesson_id, a.status, a.error_reason) for a in attempts if a.status != "completed"]
    assert not unfinished, unfinished
    for attempt in attempts:
        events = _events(session, attempt.id)
        story = [e.event for e in events]
        # Every step recorded once, in the workflow's order, none lost: seqs 0..last with no gap.
        assert [e.seq for e in events] == list(range(attempt.last_seq + 1)), (attempt.id, story)
        assert story.count("completed") == 1 and story.count("lesson_completed") == 1, (attempt.id, story)
        assert story.count("vendor_session_created") == 1, (attempt.id, story)


def assert_side_effects_happened_once(session: Session, course_id: str, vendor_stats: dict) -> None:
    learners = set(learner_ids(LEARNERS))
    passing = learners - FAILED_BY_REVIEWER
    attempts = session.exec(select(Attempt).where(Attempt.course_id == course_id)).all()

    # One ProctorFree session per attempt: retried creations found the session they had made.
    sessions = [a.vendor_session_id for a in attempts]
    assert len(set(sessions)) == len(attempts) == len(vendor_stats["sessions"])

    progress = session.exec(select(LessonProgress).where(LessonProgress.course_id == course_id)).all()
    assert Counter((p.learner_id, p.lesson_id) for p in progress) == Counter(
        {(learner, lesson.id): 1 for learner in learners for lesson in LESSONS}
    )
    assert all(p.completed_at is not None for p in progress)
    failed = {(p.learner_id, p.lesson_id) for p in progress if not p.success}
    assert failed == {(learner, "final") for learner in FAILED_BY_REVIEWER}

    tasks = session.exec(select(ReviewTask).where(ReviewTask.course_id == course_id)).all()
    required = {a.id for a in attempts if a.required}
    assert Counter(t.attempt_id for t in tasks) == Counter({attempt_id: 1 for attempt_id in required})
    assert all(t.completed_at is not None and t.state in ("passed", "failed") for t in tasks)

    courses = session.exec(select(CourseProgress).where(CourseProgress.course_id == course_id)).all()
    assert {c.learner_id for c in courses if c.completed_at is not None} == passing
    certificates = session.exec(select(Certificate).where(Certificate.course_id == course_id)).all()
    assert Counter(c.learner_id for c in certificates) == Counter({learner: 1 for learner in passing})

    duplicates = session.exec(
        select(AttemptEvent.attempt_id, AttemptEvent.seq)
        .group_by(col(AttemptEvent.attempt_id), col(AttemptEvent.seq))
        .having(func.count() > 1)
    ).all()
    assert not duplicates


async def assert_no_workflow_left_running(system: System, course_id: str, attempts: int) -> None:
    """Temporal agrees: every attempt's workflow closed as completed, none still runs. A worker
    killed after an attempt's last write, before its workflow task was recorded, leaves that task
    to time out (10 s) and run again on the restarted worker: Temporal agrees a little later."""
    deadline = time.monotonic() + 60
    while True:
        running = await system.client.count_workflows(f'CourseId="{course_id}" AND ExecutionStatus="Running"')
        completed = await system.client.count_workflows(
            f'CourseId="{course_id}" AND ExecutionStatus="Completed"'
        )
        if (running.count, completed.count) == (0, attempts) or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    if running.count:
        still = [
            await _post_mortem(system, {"workflow_id": found.id})
            async for found in system.client.list_workflows(
                f'CourseId="{course_id}" AND ExecutionStatus="Running"'
            )
        ]
        raise AssertionError(f"{running.count} workflows still running; post-mortem: {still}")
    assert completed.count == attempts


def _open_attempts(system: System) -> int:
    with system.sessions() as session:
        return session.exec(
            select(func.count()).select_from(Attempt).where(col(Attempt.status).not_in(list(TERMINAL)))
        ).one()


def _unfinished(system: System, course_id: str) -> list[dict[str, Any]]:
    """Each attempt that did not complete: its lesson, status and recorded steps."""
    with system.sessions() as session:
        attempts = session.exec(
            select(Attempt).where(Attempt.course_id == course_id, Attempt.status != "completed")
        ).all()
        return [
            {
                "workflow_id": a.workflow_id,
                "lesson": a.lesson_id,
                "status": a.status,
                "steps": [(e.seq, e.event, e.history_length) for e in _events(session, a.id)],
            }
            for a in attempts
        ]


async def _post_mortem(system: System, attempt: dict[str, Any]) -> dict[str, Any]:
    """What Temporal knows of an unfinished attempt, beside what the database recorded: the run's
    status, its pending work, and the tail of its story (event id, type, detail), workflow-task
    events aside: a local activity retried for minutes fills the history with those."""
    handle = system.client.get_workflow_handle(attempt["workflow_id"])
    try:
        description = await handle.describe()
        history = await handle.fetch_history()
    except Exception as error:  # a post-mortem reports what it can
        return {**attempt, "temporal": repr(error)}
    tail = []
    story = [event for event in history.events if not _is_workflow_task_event(event.event_type)]
    for event in story[-25:]:
        kind = EventType.Name(event.event_type).removeprefix("EVENT_TYPE_")
        attributes = event.WhichOneof("attributes")
        detail = getattr(event, attributes) if attributes else None
        name = getattr(detail, "signal_name", "") or getattr(detail, "marker_name", "")
        failure = getattr(detail, "failure", None)
        message = failure.message if failure is not None and failure.message else ""
        tail.append((event.event_id, kind, name, message))
    raw = description.raw_description
    return {
        **attempt,
        "run_status": description.status.name if description.status else None,
        "history_length": raw.workflow_execution_info.history_length,
        "pending_activities": [
            (p.activity_type.name, p.attempt, p.last_failure.message) for p in raw.pending_activities
        ],
        "pending_workflow_task": str(raw.pending_workflow_task).replace("\n", " "),
        "history_tail": tail,
    }


def _is_workflow_task_event(event_type: int) -> bool:
    return EventType.Name(event_type).startswith("EVENT_TYPE_WORKFLOW_TASK_")


def _events(session: Session, attempt_id: str) -> list[AttemptEvent]:
    return list(
        session.exec(
            select(AttemptEvent).where(AttemptEvent.attempt_id == attempt_id).order_by(col(AttemptEvent.seq))
        ).all()
    )


def _fails(learner: str, lesson: LessonPlan) -> bool:
    return learner in FAILED_BY_REVIEWER and lesson.id == "final"


def _api_calls(stats: dict) -> int:
    return sum(stats["api_calls"].values())
