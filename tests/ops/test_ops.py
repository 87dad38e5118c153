"""Ops commands: find attempts that wait too long and why, ask ProctorFree now, resume parked
attempts, cancel one. The functions of `starter.ops` and the handlers of `proctorflow stuck`,
`check-now`, `resume` and `cancel`, on a real database and a real Temporal dev server."""

from __future__ import annotations

import argparse
import asyncio
import functools
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from temporalio.client import WorkflowFailureError

from cli.ops import add_ops_commands
from models.payloads import workflow_id_for
from models.tables import Attempt
from proctorflow.errors import Conflict, Invalid, NotFound
from proctorflow.settings import Settings
from starter import ops
from store.db import make_engine, session_factory, transaction
from tests.api.helpers import learner_takes_exam, open_attempt, proctored_course, unique, vendor_session
from tests.support.database import fresh_database_url
from tests.support.stack import Stack, running_stack

NOW = datetime.now(UTC)


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="proctorflow")
    add_ops_commands(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(argv)


def stored_attempt(number: int, status: str, idle: timedelta, error_reason: str | None = None) -> Attempt:
    return Attempt(
        id=f"attempt-{number}",
        org_id="default",
        course_id="course-1",
        lesson_id="exam",
        learner_id=f"learner-{number}",
        attempt_number=1,
        workflow_id=f"attempt-attempt-{number}",
        integration_id="integration-1",
        method="full",
        required=True,
        requires_validation=True,
        status=status,
        error_reason=error_reason,
        updated_at=NOW - idle,
    )


@pytest.fixture
def idle_attempts(tmp_path: Path):
    url = fresh_database_url(tmp_path)
    engine = make_engine(url)
    sessions = session_factory(engine)
    refused = "ProctorFree refused the integration's API credentials: rotate them, then resume"
    with transaction(sessions) as session:
        session.add(stored_attempt(1, "awaiting_audit", timedelta(hours=30)))
        session.add(stored_attempt(2, "error", timedelta(hours=3), error_reason=refused))
        session.add(stored_attempt(3, "awaiting_setup", timedelta(minutes=10)))  # recent: not stuck
        session.add(stored_attempt(4, "completed", timedelta(days=3)))  # over: never stuck
        session.add(stored_attempt(5, "expired", timedelta(days=3)))
    yield url, sessions
    engine.dispose()


def test_stuck_lists_open_attempts_idle_past_the_threshold_longest_first_with_why(idle_attempts):
    _, sessions = idle_attempts

    stuck = ops.stuck_attempts(sessions, timedelta(hours=2), now=NOW)
    parked = ops.stuck_attempts(sessions, timedelta(hours=2), status="error", now=NOW)

    assert [(a.attempt_id, a.status) for a in stuck] == [
        ("attempt-1", "awaiting_audit"),
        ("attempt-2", "error"),
    ]
    assert [a.attempt_id for a in parked] == ["attempt-2"]
    assert "refused the integration's API credentials" in (parked[0].error_reason or "")
    assert parked[0].idle_for(NOW) == timedelta(hours=3)


@pytest.mark.parametrize(
    ("status", "words"), [("completed", "over, never stuck"), ("stuk", "unknown status")]
)
def test_stuck_refuses_a_status_that_cannot_be_stuck_and_names_those_that_can(idle_attempts, status, words):
    _, sessions = idle_attempts
    with pytest.raises(Invalid) as refused:
        ops.stuck_attempts(sessions, timedelta(hours=2), status=status)
    assert words in refused.value.message and "awaiting_audit" in refused.value.message


def test_the_stuck_command_prints_each_attempt_its_status_and_the_reason_it_is_parked(
    idle_attempts, ops_environment, capsys
):
    url, _ = idle_attempts
    ops_environment(Settings(database_url=url))

    args = parse("stuck", "--older-than", "2h", "--status", "error")
    assert args.run(args) == 0

    out = capsys.readouterr().out
    assert "1 open attempt(s) waiting longer than 2h" in out
    assert "attempt-2  error" in out and "why: ProctorFree refused the integration's API credentials" in out
    assert "attempt-1" not in out


@pytest.mark.parametrize(
    ("text", "expected"), [("90s", 90), ("30m", 1800), ("2h", 7200), ("1d", 86400), ("45", 45)]
)
def test_older_than_reads_seconds_minutes_hours_and_days(text, expected):
    assert parse("stuck", "--older-than", text).older_than == timedelta(seconds=expected)


def test_older_than_refuses_what_is_not_a_duration_and_shows_how_to_write_one(capsys):
    with pytest.raises(SystemExit) as exited:
        parse("stuck", "--older-than", "two hours")
    assert exited.value.code == 2
    assert "write e.g. 90s, 30m, 2h or 1d" in capsys.readouterr().err


# --- Acting on running attempts --------------------------------------------------------------


@pytest.fixture(scope="module")
async def stack(dev_server, tmp_path_factory) -> Stack:
    # Hour-long audit polls: a landed audit whose webhook is lost waits an hour, unless ops ask.
    async with running_stack(
        dev_server.client, tmp_path_factory.mktemp("ops"), audit_poll_interval=3600, audit_deadline=4 * 3600
    ) as running:
        yield running


async def test_check_now_makes_a_landed_audit_known_without_waiting_for_the_next_poll(stack):
    course_id, _ = await proctored_course(stack.api, method="full")
    attempt_id = (await open_attempt(stack.api, course_id, unique("learner")))["attempt_id"]
    session_id = await learner_takes_exam(stack, attempt_id)
    await stack.wait_for_attempt(attempt_id, lambda a: a["status"] == "awaiting_audit")
    await no_audit_poll_before_an_hour(stack, attempt_id)
    await stack.emulator.put("/emulator/faults", json={"send_webhooks": False})  # its webhook is lost
    try:
        await stack.control("audit", session_id, outcome="clean")
        await asyncio.sleep(2)
        body = (await stack.api.get(f"/attempts/{attempt_id}")).json()
        assert body["status"] == "awaiting_audit", body

        await ops.check_now(stack.client, attempt_id)
    finally:
        await stack.emulator.put("/emulator/faults", json={"send_webhooks": True})

    await stack.wait_for_attempt(attempt_id, lambda a: a["status"] == "ready_for_review", timeout=15)


async def no_audit_poll_before_an_hour(stack: Stack, attempt_id: str) -> None:
    """The first audit poll is an hour (the poll interval) after FINISH: none runs yet."""
    description = await stack.client.get_workflow_handle(workflow_id_for(attempt_id)).describe()
    pending = [p.activity_type.name for p in description.raw_description.pending_activities]
    assert "check_audit" not in pending, pending


async def test_the_check_now_and_cancel_commands_act_on_the_named_attempt(stack, ops_environment, capsys):
    ops_environment(stack.settings)
    course_id, _ = await proctored_course(stack.api, method="record_only")
    attempt_id = (await open_attempt(stack.api, course_id, unique("learner")))["attempt_id"]
    session_id = await vendor_session(stack, attempt_id)

    for command in ("check-now", "cancel"):
        args = parse(command, attempt_id)
        assert await asyncio.to_thread(args.run, args) == 0

    attempt = await stack.wait_for_attempt(attempt_id, lambda a: a["status"] == "expired")
    assert attempt["events"][-1]["event"] == "cancelled"
    assert (await stack.emulator.get("/emulator/stats")).json()["sessions"][session_id]["closes"] == 1
    out = capsys.readouterr().out
    assert f"attempt {attempt_id}: asked to check ProctorFree now" in out
    assert f"attempt {attempt_id}: cancelled" in out


async def test_acting_on_an_attempt_that_is_not_running_says_so(stack):
    course_id, _ = await proctored_course(stack.api, method="record_only")
    attempt_id = (await open_attempt(stack.api, course_id, unique("learner")))["attempt_id"]
    await vendor_session(stack, attempt_id)
    await ops.cancel(stack.client, stack.sessions, attempt_id)
    with pytest.raises(WorkflowFailureError):  # it closes the vendor session, then ends cancelled
        await stack.client.get_workflow_handle(workflow_id_for(attempt_id)).result()

    cancel = functools.partial(ops.cancel, sessions=stack.sessions)
    for act in (ops.check_now, ops.resume, cancel):
        with pytest.raises(NotFound) as refused:
            await act(stack.client, attempt_id=attempt_id)
        assert f"attempt {attempt_id} has no running workflow" in refused.value.message
    with pytest.raises(NotFound):
        await ops.check_now(stack.client, "no-such-attempt")


async def test_resume_resumes_parked_attempts_one_or_all_and_refuses_one_that_is_not_parked(
    stack, ops_environment, capsys
):
    ops_environment(stack.settings)
    course_id, integration_id = await proctored_course(stack.api, method="record_only")
    api_key = unique("pf-key-ops")  # this test's own key: revoking it parks no other test's attempts
    assert (await stack.api.patch(f"/integrations/{integration_id}", json={"api_key": api_key})).is_success
    await stack.emulator.put("/emulator/faults", json={"revoked_api_keys": [api_key]})
    try:
        parked = [
            (await open_attempt(stack.api, course_id, unique("learner")))["attempt_id"] for _ in range(2)
        ]
        for attempt_id in parked:
            await stack.wait_for_attempt(attempt_id, lambda a: a["status"] == "error")
    finally:
        await stack.emulator.put("/emulator/faults", json={"revoked_api_keys": []})

    with pytest.raises(Invalid, match="name one ATTEMPT_ID, or pass --all-errors"):
        parse("resume").run(parse("resume"))
    one = parse("resume", parked[0])
    assert await asyncio.to_thread(one.run, one) == 0
    await stack.wait_for_attempt(parked[0], lambda a: a["status"] == "awaiting_setup")
    with pytest.raises(Conflict, match="is awaiting_setup, not parked in error"):
        parse("resume", parked[0]).run(parse("resume", parked[0]))
    every = parse("resume", "--all-errors")
    assert await asyncio.to_thread(every.run, every) == 0

    await stack.wait_for_attempt(parked[1], lambda a: a["status"] == "awaiting_setup")
    assert f"attempt {parked[1]}: resumed" in capsys.readouterr().out
