"""Chaos: 120 proctored attempts at once, driven through the LMS API and ProctorFree's control
API as the LMS, the learners and a reviewer would, while the worker process is SIGKILLed and
started again, the Temporal server is killed and started again on its database file, ProctorFree
fails about one call in ten (5xx, timeouts, 429 with Retry-After, malformed bodies), the
database refuses every writer for a minute, and ops terminate some attempts' workflows and reset
others (one of them after it completed), as from Temporal Web (`chaos_ops.py`). The LMS has
subscribed an event endpoint before the attempts start: the worker process delivers every change
to it while it is killed (`chaos_events.py`).

Afterwards, with `proctorflow reconcile --all` run as ops would: every attempt has ended, in the
database and in Temporal; each attempt's projection agrees with its workflow's last run; every
side effect happened exactly once, none for the attempts ops ended; and no certificate went to a
learner whose final quiz failed. Every event the feed holds for the course was accepted by the
LMS's endpoint, at least once and at most twice, in its stream's order, with no gap in an attempt's
status changes, the attempts ops ended told `expired`, no delivery `failed`. Reproduce with
`make test PYTEST_ARGS="-s tests/reliability/test_chaos.py"`; `PROCTORFLOW_CHAOS_SEED` (printed)
replays ops' choices.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Coroutine, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
from sqlalchemy import func
from sqlmodel import Session, col, select
from temporalio.api.enums.v1 import EventType
from temporalio.api.failure.v1 import Failure
from temporalio.client import Client, WorkflowExecutionDescription, WorkflowExecutionStatus

from models.payloads import AttemptState
from models.rules import RESET_CANNOT_UNDO
from models.statuses import TERMINAL
from models.tables import Attempt, AttemptEvent, Certificate, CourseProgress, LessonProgress, ReviewTask
from proctorflow.codec import new_key_spec
from proctorflow.settings import Settings
from proctorfree.emulator.app import create_app as create_emulator
from proctorfree.emulator.faults import Faults
from starter.reconcile import Reconciled, reconcile_all
from store.db import SessionFactory, make_engine, session_factory
from tests.reliability.chaos_events import (
    Arrivals,
    Delivered,
    assert_delivered_in_order_at_most_twice,
    assert_no_delivery_failed,
    delivery_tries,
    every_event_accepted,
    subscribe,
)
from tests.reliability.chaos_ops import (
    TERMINATE_REASON,
    ChaosDriver,
    Done,
    Ops,
    events_of,
    plan_targets,
    projection_of,
)
from tests.reliability.support import (
    LESSONS,
    PASSED_QUIZ,
    LessonPlan,
    Tally,
    TemporalServer,
    WorkerProcess,
    injected_faults,
    learner_ids,
)
from tests.support.database import DatabaseOutage, fresh_database_url
from tests.support.histories import readable
from tests.support.receiver import Receiver
from tests.support.servers import serve_in_thread
from tests.support.settings import loopback_settings
from tests.support.stack import QUICK
from web.app import create_app

T = TypeVar("T")
LEARNERS = 30
FAILED_BY_REVIEWER = {learner for i, learner in enumerate(learner_ids(LEARNERS)) if i % 5 == 4}
# These pass the proctoring review of the final exam but fail its quiz; for half of them the LMS
# sends the quiz result only after the reviewer's pass. None of them may get a certificate.
FAILED_QUIZ = {learner for i, learner in enumerate(learner_ids(LEARNERS)) if i % 5 == 3}
LATE_QUIZ = {learner for i, learner in enumerate(learner_ids(LEARNERS)) if i % 10 == 3}
# These open their lessons while the database is down (the LMS's calls then fail and are retried):
# seconds after the attempts start, one learner every few seconds from a little after the outage began.
LATE_OPENERS = {
    learner: 20.0 + 4.0 * n
    for n, learner in enumerate(learner for i, learner in enumerate(learner_ids(LEARNERS)) if i % 10 == 6)
}
FAILING_QUIZ = {"score": 41, "passed": False}
FAULTS = Faults(
    error_rate=0.1,
    error_kinds=["5xx", "timeout", "429", "malformed"],
    timeout_seconds=1.5,  # the worker gives up after 1 s (PROCTORFLOW_PROCTORFREE_TIMEOUT)
    retry_after_seconds=1,
    seed=20240611,
)
# Seconds after the attempts start: what is killed. Each finds attempts in flight: three worker
# kills and the Temporal crash come within 20 s, before the quickest run (about 25 s) is done;
# the database outage begins while most attempts are open and holds them all for a minute, through
# the Temporal crash and two more worker kills.
CHAOS = (
    (5.0, "worker"),
    (10.0, "worker"),
    (15.0, "worker"),
    (16.0, "database"),
    (20.0, "temporal"),
    (30.0, "worker"),
    (45.0, "worker"),
)
OUTAGE_SECONDS = 60.0
# Ops' own chaos, on attempts drawn from the seed (`chaos_ops.plan_targets`), each at a point of
# its story drawn too: ops act when the LMS's script gets there, before, during or after the outage.
TERMINATES, RESETS, COMPLETED_RESETS = 4, 4, 1
SEED = int(os.environ.get("PROCTORFLOW_CHAOS_SEED") or time.time_ns() % 1_000_000)
DRIVE_BUDGET = 240.0  # the drive takes about 90 s on a 2-core machine: the outage, then ~10 s
EVENTS_PATIENCE = 240.0  # seconds after reconcile for the last event to reach the LMS (~100 s seen)


async def test_every_attempt_ends_once_through_kills_restarts_faults_a_database_outage_and_ops(tmp_path):
    began = time.monotonic()
    targets = plan_targets(SEED, learner_ids(LEARNERS), LESSONS, TERMINATES, RESETS, COMPLETED_RESETS)
    receiver = Receiver(accepted=Arrivals())  # the LMS's event endpoint, its deliveries timed
    async with (
        running_system(tmp_path, proctorfree_timeout=1.0) as system,
        clients(system) as (api, vendor),
        receiver.serving(),
    ):
        await subscribe(api, receiver)
        course_id = f"chaos-{uuid.uuid4().hex[:8]}"
        await seed_course(api, course_id)
        calls_before_faults = _api_calls((await vendor.get("/emulator/stats")).json())
        knobs = FAULTS.model_dump(
            include={"error_rate", "error_kinds", "timeout_seconds", "retry_after_seconds", "seed"}
        )
        (await vendor.put("/emulator/faults", json=knobs)).raise_for_status()

        tally = Tally()
        driver = ChaosDriver(
            api,
            vendor,
            course_id,
            tally,
            deadline=time.monotonic() + DRIVE_BUDGET,
            ops=Ops(system.client),
            sessions=system.sessions,
            targets=targets,
            seed=SEED,
        )
        outage = DatabaseOutage(system.settings.database_url)
        chaos_log: list[str] = []
        done = asyncio.Event()
        attempts_began = time.monotonic()  # the chaos log's clock
        chaos = asyncio.create_task(unleash_chaos(system, outage, done, chaos_log))
        try:
            async with asyncio.TaskGroup() as group:
                runs = [
                    group.create_task(
                        _after(
                            LATE_OPENERS.get(learner, 0.0),
                            driver.take(
                                learner,
                                lesson,
                                fail=_fails(learner, lesson),
                                quiz=_quiz(learner, lesson),
                                late_result=_late_quiz(learner, lesson),
                            ),
                        )
                    )
                    for learner in learner_ids(LEARNERS)
                    for lesson in LESSONS
                ]
        except* AssertionError as failed:
            stuck = await asyncio.to_thread(_unfinished, system, course_id)
            post_mortem = [await _post_mortem(system, attempt) for attempt in stuck[:3]]
            raise AssertionError(
                f"seed {SEED}: {len(stuck)} attempts unfinished; {chaos_log}; "
                f"ops: {[d.describe() for d in driver.done]}; post-mortem: {post_mortem}"
            ) from failed
        finally:
            done.set()
            await chaos
        drive_s = time.monotonic() - began
        stats = (await vendor.get("/emulator/stats")).json()
        attempts = {run.result() for run in runs}

        with _told_with(chaos_log, driver):
            reconciled = await reconcile_as_ops_would(system, driver)
            await assert_no_workflow_left_running(system, course_id)
            delivered = await assert_every_event_delivered(
                system, api, receiver, course_id, driver, attempts_began
            )
            with system.sessions() as session:
                assert_every_attempt_ended_once(session, course_id, attempts, driver)
                assert_side_effects_happened_once(session, course_id, stats, driver)
                assert_no_certificate_for_a_failed_quiz(session, course_id)
            await assert_projections_agree_with_last_runs(system, course_id, driver)
            await assert_completed_resets_changed_nothing(system, driver)
            await assert_raw_histories_hold_nothing_in_clear(system, course_id)

    faults = injected_faults(FAULTS, _api_calls(stats) - calls_before_faults)
    summary = {
        "seed": SEED,
        "attempts": len(attempts),
        "learners": LEARNERS,
        "chaos": chaos_log,
        "worker_kills": system.worker.kills,
        "temporal_restarts": system.temporal.restarts,
        "database_outage_s": round(outage.held_seconds, 1),
        "terminated": [d.describe() for d in driver.of("terminate").values()],
        "reset": [d.describe() for d in driver.of("reset", "reset_completed").values()],
        "reconciled": dict(
            Counter(d.reconciled_by for d in driver.of("terminate").values())
            + Counter("reconcile --all: reset run terminated" for r in reconciled if r.action == "terminated")
            + Counter(
                "reconcile --all: lost decision redelivered" for r in reconciled if r.action == "redelivered"
            )
        ),
        "vendor_api_calls": _api_calls(stats) - calls_before_faults,
        "faults_injected": dict(faults),
        "webhooks_sent": stats["webhooks_sent"],
        "webhooks_failed": stats["webhooks_failed"],
        "lms_events": delivered.summary(),
        "web_app_5xx_retried": dict(tally.server_errors),
        "connection_errors_retried": dict(tally.transport_errors),
        "decisions_answered_409": dict(tally.conflicts),
        "drive_s": round(drive_s, 1),
        "wall_time_s": round(time.monotonic() - began, 1),
    }
    print("\nCHAOS SUMMARY", summary)
    assert system.worker.kills >= 3 and system.temporal.restarts == 1, chaos_log
    assert outage.held_seconds >= OUTAGE_SECONDS - 1, chaos_log
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


async def unleash_chaos(system: System, outage: DatabaseOutage, done: asyncio.Event, log: list[str]) -> None:
    """Kill the worker (and restart it at once: a new process takes seconds to boot), crash
    Temporal and take the database away, on schedule, while attempts are in flight; a worker that
    died on its own is started again and reported. The outage runs beside the rest of the
    schedule; it ends on time, or at once when the attempts are over (a failed test)."""
    loop = asyncio.get_running_loop()
    began = loop.time()
    outage_held: asyncio.Task | None = None
    try:
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
                log.append(f"{at:.0f}s worker killed with {in_flight} attempts open")
            elif target == "temporal":
                await system.temporal.crash_and_restart(system.settings)
                log.append(f"{at:.0f}s temporal killed with {in_flight} attempts open")
            else:
                outage_held = asyncio.create_task(outage.hold(OUTAGE_SECONDS))
                log.append(
                    f"{at:.0f}s database locked for {OUTAGE_SECONDS:.0f}s with {in_flight} attempts open"
                )
    finally:
        if outage_held is not None:
            await _first_of(outage_held, done)
            outage_held.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await outage_held
            log.append(f"{loop.time() - began:.0f}s database back after {outage.held_seconds:.0f}s")


@contextlib.contextmanager
def _told_with(chaos_log: list[str], driver: ChaosDriver) -> Iterator[None]:
    """A failed check says which seed, chaos and ops actions led to it: enough to replay it."""
    try:
        yield
    except AssertionError as failed:
        ops = [d.describe() for d in driver.done]
        raise AssertionError(f"seed {SEED}; chaos: {chaos_log}; ops: {ops}") from failed


async def _first_of(task: asyncio.Task, event: asyncio.Event) -> None:
    waiter = asyncio.create_task(event.wait())
    await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    waiter.cancel()


async def reconcile_as_ops_would(system: System, driver: ChaosDriver) -> list[Reconciled]:
    """`proctorflow reconcile --all`, once the LMS is done: it abandons the terminated attempts
    the LMS left alone (the others were reconciled by the LMS's own requests) and terminates the
    reset run of a completed attempt, unless that run ended by itself (its first write refused);
    it gives a completed attempt whose run never took its decision (the Update lost with the
    workflow task that wrote it and a Temporal restart) that decision again; it touches nothing
    else."""
    waiting = {
        attempt_id
        for attempt_id, done in driver.of("reset_completed").items()
        if (await _describe(system.client, done.workflow_id, done.new_run_id)).status
        == WorkflowExecutionStatus.RUNNING
    }
    outcomes = await reconcile_all(system.client, system.sessions)
    left = {a for a, done in driver.of("terminate").items() if done.target.then == "leave"}
    expected = {(a, "abandoned") for a in left} | {(a, "terminated") for a in waiting}
    redelivered = {(o.attempt_id, o.action) for o in outcomes if o.action == "redelivered"}
    assert {(o.attempt_id, o.action) for o in outcomes} - redelivered == expected, [
        o.message for o in outcomes
    ]
    assert all(o.status == "completed" for o in outcomes if o.action == "redelivered"), outcomes
    for attempt_id in left:
        driver.of("terminate")[attempt_id].reconciled_by = "reconcile --all"
    return outcomes


# --- What must hold afterwards ----------------------------------------------------------------


async def assert_every_event_delivered(
    system: System,
    api: httpx.AsyncClient,
    receiver: Receiver,
    course_id: str,
    driver: ChaosDriver,
    attempts_began: float,
) -> Delivered:
    """Every event of the course reaches the LMS's endpoint, though the worker delivering them was
    killed: each id at least once and at most twice, each stream in order, no gap in an attempt's
    status changes, the terminated attempts told `expired`, no delivery failed."""
    events, drained_s = await every_event_accepted(api, receiver, course_id, system.sessions, EVENTS_PATIENCE)
    repeated = assert_delivered_in_order_at_most_twice(events, receiver, set(driver.of("terminate")))
    await asyncio.to_thread(assert_no_delivery_failed, system.sessions, [e["id"] for e in events])
    _, retried, tries = await delivery_tries(system.client)
    return Delivered(
        events=len(events),
        streams=len({e["data"]["learner_id"] for e in events}),
        accepted=sum(1 for r in receiver.accepted if r.data.get("course_id") == course_id),
        repeated=repeated,
        retried=retried,
        tries=tries,
        drained_s=drained_s,
        timeline=receiver.accepted.timeline(attempts_began),
    )


def assert_every_attempt_ended_once(
    session: Session, course_id: str, attempt_ids: set[str], driver: ChaosDriver
) -> None:
    """Every attempt completed, but those whose workflow ops terminated: expired, their last step
    `abandoned`, written by ops (no run). Every step recorded once, in order, none lost."""
    attempts = session.exec(select(Attempt).where(Attempt.course_id == course_id)).all()
    assert {a.id for a in attempts} == attempt_ids and len(attempts) == LEARNERS * len(LESSONS)
    terminated = driver.of("terminate")
    unfinished = [
        (a.id, a.lesson_id, a.status, a.error_reason)
        for a in attempts
        if a.status != ("expired" if a.id in terminated else "completed")
    ]
    assert not unfinished, unfinished
    for attempt in attempts:
        events = events_of(session, attempt.id)
        story = [e.event for e in events]
        # Every step recorded once, in the workflow's order, none lost: seqs 0..last with no gap.
        assert [e.seq for e in events] == list(range(attempt.last_seq + 1)), (attempt.id, story)
        if attempt.id in terminated:
            assert (events[-1].event, events[-1].run_id) == ("abandoned", None), (attempt.id, story)
            assert events[-1].detail == {"reason": "its workflow was terminated before the attempt ended"}
            assert "completed" not in story and "lesson_completed" not in story, (attempt.id, story)
            assert story.count("vendor_session_created") <= 1 and story.count("abandoned") == 1, story
            continue
        assert story.count("completed") == 1 and story.count("lesson_completed") == 1, (attempt.id, story)
        assert story.count("vendor_session_created") == 1, (attempt.id, story)


def assert_side_effects_happened_once(
    session: Session, course_id: str, vendor_stats: dict, driver: ChaosDriver
) -> None:
    """Each side effect once for every attempt that completed; none for one ops terminated (its
    lesson, and so the course of a required one, stays incomplete; its review task is closed)."""
    learners = set(learner_ids(LEARNERS))
    ended = {(d.target.learner, d.target.lesson.id) for d in driver.of("terminate").values()}
    incomplete_course = {learner for learner, lesson_id in ended if _lesson(lesson_id).required}
    passing = learners - FAILED_BY_REVIEWER - FAILED_QUIZ - incomplete_course
    attempts = session.exec(select(Attempt).where(Attempt.course_id == course_id)).all()
    terminated = driver.of("terminate")
    completed = [a for a in attempts if a.id not in terminated]

    # One ProctorFree session per attempt: retried creations found the session they had made. A
    # terminated run may have made one it never wrote down.
    sessions = [a.vendor_session_id for a in completed]
    assert len(set(sessions)) == len(completed) and None not in sessions
    created = set(vendor_stats["sessions"])
    assert {a.vendor_session_id for a in attempts if a.vendor_session_id} <= created
    assert len(completed) <= len(created) <= len(attempts)

    progress = session.exec(select(LessonProgress).where(LessonProgress.course_id == course_id)).all()
    assert Counter((p.learner_id, p.lesson_id) for p in progress) == Counter(
        {
            (learner, lesson.id): 1
            for learner in learners
            for lesson in LESSONS
            if (learner, lesson.id) not in ended
        }
    )
    assert all(p.completed_at is not None for p in progress)
    failed = {(p.learner_id, p.lesson_id) for p in progress if not p.success}
    assert failed == {(learner, "final") for learner in FAILED_BY_REVIEWER | FAILED_QUIZ} - ended

    tasks = session.exec(select(ReviewTask).where(ReviewTask.course_id == course_id)).all()
    assert Counter(t.attempt_id for t in tasks if t.attempt_id not in terminated) == Counter(
        {a.id: 1 for a in completed if a.required}
    )
    assert all(
        t.completed_at is not None and t.state in ("passed", "failed")
        for t in tasks
        if t.attempt_id not in terminated
    )
    # A terminated attempt's task, if its learner got as far as FINISH: closed, without a decision.
    ended_tasks = [t for t in tasks if t.attempt_id in terminated]
    assert len({t.attempt_id for t in ended_tasks}) == len(ended_tasks)
    assert all(
        t.state == "closed" and t.completed_at is not None and t.decided_by is None for t in ended_tasks
    )

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


def assert_no_certificate_for_a_failed_quiz(session: Session, course_id: str) -> None:
    """The final exam's quiz failed (whether its result came before or after the reviewer's
    pass): its lesson is failed, the course not completed, no certificate."""
    certified = set(
        session.exec(select(Certificate.learner_id).where(Certificate.course_id == course_id)).all()
    )
    assert not certified & FAILED_QUIZ, sorted(certified & FAILED_QUIZ)
    finals = session.exec(
        select(Attempt).where(Attempt.course_id == course_id, Attempt.lesson_id == "final")
    ).all()
    for attempt in finals:
        if attempt.learner_id in FAILED_QUIZ and attempt.status == "completed":
            assert (attempt.exam_score, attempt.exam_passed) == (41, False), attempt.id


async def assert_no_workflow_left_running(system: System, course_id: str) -> None:
    """Temporal agrees: no attempt's workflow still runs. A worker killed after an attempt's last
    write, before its workflow task was recorded, leaves that task to time out (10 s) and run
    again on the restarted worker: Temporal agrees a little later."""
    query = f'CourseId="{course_id}" AND ExecutionStatus="Running"'
    deadline = time.monotonic() + 60
    while (running := await system.client.count_workflows(query)).count and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
    if running.count:
        still = [
            await _post_mortem(system, await asyncio.to_thread(_stored_story_of, system, found.id))
            async for found in system.client.list_workflows(query)
        ]
        raise AssertionError(f"{running.count} workflows still running; post-mortem: {still}")


async def assert_projections_agree_with_last_runs(
    system: System, course_id: str, driver: ChaosDriver
) -> None:
    """For every attempt, the projection tells its workflow's last run's story: a terminated run
    left its attempt abandoned; otherwise the run that wrote the story (the attempt's run id) is
    the last one, completed, and its result holds what the projection holds."""
    with system.sessions() as session:
        attempts = session.exec(select(Attempt).where(Attempt.course_id == course_id)).all()
        stories = [(a, events_of(session, a.id), _task(session, a.id)) for a in attempts]
    for attempt, events, task in stories:
        latest = await system.client.get_workflow_handle(attempt.workflow_id).describe()
        terminated = driver.of("terminate").get(attempt.id)
        if terminated is not None:
            assert_abandoned_by_its_terminated_run(attempt, events, latest, terminated)
            assert await _terminated_by_ops(system.client, latest), attempt.id
        else:
            await assert_completed_by_its_last_run(system.client, attempt, events, task, latest, driver)


async def assert_raw_histories_hold_nothing_in_clear(system: System, course_id: str) -> None:
    """Every run of every attempt's workflow, read as anyone who reaches Temporal reads it (no
    codec), through faults, parking, terminates and resets: no learner's name or e-mail, no
    failure text of ours or the vendor's, no stack trace."""
    raw = Client(system.client.service_client, namespace=system.client.namespace)
    clear = [
        "Traceback",
        'File "',
        "@example.org",
        "Learner learner-",
        "ProctorFree asked",
        "ProctorFree answered",
    ]
    with system.sessions() as session:
        workflow_ids = session.exec(select(Attempt.workflow_id).where(Attempt.course_id == course_id)).all()
    for workflow_id in workflow_ids:
        async for run in raw.list_workflows(f'WorkflowId = "{workflow_id}"'):
            history = await raw.get_workflow_handle(workflow_id, run_id=run.run_id).fetch_history()
            text = readable(history.to_json())
            found = [words for words in clear if words in text]
            assert not found, (workflow_id, run.run_id, found)


def assert_abandoned_by_its_terminated_run(
    attempt: Attempt, events: list[AttemptEvent], latest: WorkflowExecutionDescription, done: Done
) -> None:
    assert (latest.run_id, latest.status) == (done.run_id, WorkflowExecutionStatus.TERMINATED), attempt.id
    assert attempt.status == "expired" and (events[-1].event, events[-1].run_id) == ("abandoned", None)
    # The terminated run wrote the story before (if it got to write at all); no run after it.
    assert attempt.run_id in (None, done.run_id), (attempt.id, attempt.run_id)
    assert {e.run_id for e in events} <= {None, done.run_id}, attempt.id


async def _terminated_by_ops(client: Client, run: WorkflowExecutionDescription) -> bool:
    """Whether the run's history ends with ops' terminate (not Temporal's own, nor a reset's)."""
    history = await client.get_workflow_handle(run.id, run_id=run.run_id).fetch_history()
    last = history.events[-1]
    return (
        last.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED
        and last.workflow_execution_terminated_event_attributes.reason == TERMINATE_REASON
    )


async def assert_completed_by_its_last_run(
    client: Client,
    attempt: Attempt,
    events: list[AttemptEvent],
    task: ReviewTask | None,
    latest: WorkflowExecutionDescription,
    driver: ChaosDriver,
) -> None:
    owner = attempt.run_id
    assert attempt.status == "completed" and owner is not None, attempt.id
    reset = driver.of("reset").get(attempt.id)
    if reset is not None:  # the new run took the story over from the one ops reset
        assert owner == reset.new_run_id and reset.run_id in (attempt.superseded_runs or []), attempt.id
    redone = driver.of("reset_completed").get(attempt.id)
    if redone is not None:  # the reset run of a completed attempt was ended, without a write
        assert owner == redone.run_id and latest.run_id == redone.new_run_id, attempt.id
        assert latest.status in (WorkflowExecutionStatus.TERMINATED, WorkflowExecutionStatus.FAILED), latest
        assert await _ended_with_the_reset_refusal(client, attempt.workflow_id, latest), attempt.id
    else:
        assert latest.run_id == owner, (attempt.id, "the last run is not the one that wrote the story")
    # Every step names the run that owns the story, or one it superseded; the last is the owner's.
    assert {e.run_id for e in events} - {None} <= {owner, *(attempt.superseded_runs or [])}, attempt.id
    assert events[-1].run_id == owner, attempt.id
    handle = client.get_workflow_handle(attempt.workflow_id, run_id=owner, result_type=AttemptState)
    assert (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED, attempt.id
    reported = await handle.result(follow_runs=False)
    assert stored_facts(attempt, events, task) == reported_facts(reported), attempt.id


async def _ended_with_the_reset_refusal(
    client: Client, workflow_id: str, run: WorkflowExecutionDescription
) -> bool:
    """Whether a reset run of a completed attempt ended as `reconcile` ends it (terminated with
    the refusal) or by itself (its first write refused)."""
    history = await client.get_workflow_handle(workflow_id, run_id=run.run_id).fetch_history()
    last = history.events[-1]
    if last.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED:
        return last.workflow_execution_terminated_event_attributes.reason == RESET_CANNOT_UNDO
    failure = last.workflow_execution_failed_event_attributes.failure
    return "a reset cannot undo a decision or a completion" in await _failure_message(client, failure)


async def assert_completed_resets_changed_nothing(system: System, driver: ChaosDriver) -> None:
    """A completed attempt reset to before its decision, its reset run ended: its own story in
    the projection (attempt, steps, review task, lesson) is what it was before the reset, to the
    last field. Its learner's course and certificate are checked with every side effect."""
    for attempt_id, done in driver.of("reset_completed").items():
        after = await asyncio.to_thread(projection_of, system.sessions, attempt_id)
        assert after == done.projection, attempt_id


def stored_facts(attempt: Attempt, events: list[AttemptEvent], task: ReviewTask | None) -> dict:
    """What the projection says of an attempt, in the terms of its run's result. Of the completion
    report only the lesson's success: a workflow task lost after its completion's write runs that
    write again, which repeats the stored steps but reports the course as it is by then (another
    lesson may have completed meanwhile), so the stored report's course reason may be older."""
    decided = [e for e in events if e.event == "decided"]
    completions = [e for e in events if e.event in ("lesson_completed", "completion_confirmed")]
    return {
        "status": attempt.status,
        "vendor_session_id": attempt.vendor_session_id,
        "exam": (attempt.exam_score, attempt.exam_passed) if attempt.exam_passed is not None else None,
        "decision": decided[-1].detail["decision"] if decided else None,
        "review_state": task.state if task is not None else None,
        "lesson_success": completions[-1].detail["lesson_success"] if completions else None,
    }


def reported_facts(state: AttemptState) -> dict:
    """What a completed run's result (`AttemptState`) says of its attempt."""
    return {
        "status": state.status.value,
        "vendor_session_id": state.vendor_session_id,
        "exam": (state.exam.score, state.exam.passed) if state.exam is not None else None,
        "decision": state.decision,
        "review_state": state.review_state.value if state.review_state is not None else None,
        "lesson_success": state.completion.lesson_success if state.completion is not None else None,
    }


async def _describe(client: Client, workflow_id: str, run_id: str | None) -> WorkflowExecutionDescription:
    return await client.get_workflow_handle(workflow_id, run_id=run_id).describe()


def _task(session: Session, attempt_id: str) -> ReviewTask | None:
    return session.exec(select(ReviewTask).where(ReviewTask.attempt_id == attempt_id)).first()


def _open_attempts(system: System) -> int:
    with system.sessions() as session:
        return session.exec(
            select(func.count()).select_from(Attempt).where(col(Attempt.status).not_in(list(TERMINAL)))
        ).one()


def _unfinished(system: System, course_id: str) -> list[dict[str, Any]]:
    """Each attempt that did not end: its lesson, status and recorded steps."""
    with system.sessions() as session:
        attempts = session.exec(
            select(Attempt).where(Attempt.course_id == course_id, col(Attempt.status).not_in(list(TERMINAL)))
        ).all()
        return [_stored_story(session, a) for a in attempts]


def _stored_story(session: Session, attempt: Attempt) -> dict[str, Any]:
    """What the projection holds of an attempt, for a post-mortem: each step with the history
    length it was written at (a step written from a longer history than Temporal holds came from
    a workflow task Temporal lost) and the run that wrote it."""
    return {
        "workflow_id": attempt.workflow_id,
        "lesson": attempt.lesson_id,
        "status": attempt.status,
        "run_id": attempt.run_id,
        "steps": [(e.seq, e.event, e.history_length, e.run_id) for e in events_of(session, attempt.id)],
    }


def _stored_story_of(system: System, workflow_id: str) -> dict[str, Any]:
    with system.sessions() as session:
        attempt = session.exec(select(Attempt).where(Attempt.workflow_id == workflow_id)).one()
        return _stored_story(session, attempt)


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
        message = await _failure_message(system.client, failure) if failure is not None else ""
        tail.append((event.event_id, kind, name, message))
    raw = description.raw_description
    return {
        **attempt,
        "run_status": description.status.name if description.status else None,
        "history_length": raw.workflow_execution_info.history_length,
        "pending_activities": [
            (p.activity_type.name, p.attempt, await _failure_message(system.client, p.last_failure))
            for p in raw.pending_activities
        ],
        "pending_workflow_task": str(raw.pending_workflow_task).replace("\n", " "),
        "history_tail": tail,
    }


async def _failure_message(client: Client, failure: Failure) -> str:
    """A failure's message as it was raised: histories hold it sealed (the data converter encodes
    failures' messages and stack traces), the client's converter opens it."""
    if not failure.message and not failure.HasField("encoded_attributes"):
        return ""
    opened = Failure()
    opened.CopyFrom(failure)
    error = await client.data_converter.decode_failure(opened)
    return str(getattr(error, "message", error))


def _is_workflow_task_event(event_type: int) -> bool:
    return EventType.Name(event_type).startswith("EVENT_TYPE_WORKFLOW_TASK_")


async def _after(seconds: float, script: Coroutine[Any, Any, T]) -> T:
    """A learner who opens the lesson `seconds` after the others."""
    await asyncio.sleep(seconds)
    return await script


def _fails(learner: str, lesson: LessonPlan) -> bool:
    return learner in FAILED_BY_REVIEWER and lesson.id == "final"


def _quiz(learner: str, lesson: LessonPlan) -> dict:
    return FAILING_QUIZ if learner in FAILED_QUIZ and lesson.id == "final" else PASSED_QUIZ


def _late_quiz(learner: str, lesson: LessonPlan) -> bool:
    return learner in LATE_QUIZ and lesson.id == "final"


def _lesson(lesson_id: str) -> LessonPlan:
    return next(lesson for lesson in LESSONS if lesson.id == lesson_id)


def _api_calls(stats: dict) -> int:
    return sum(stats["api_calls"].values())
