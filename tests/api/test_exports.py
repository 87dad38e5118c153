"""GET /reports/attempts.csv and /reports/decisions.csv: the columns and values of real attempts
driven to a decision, the course and date filters, the refusals, one organisation's rows only;
and a 10,000-row export streamed in the memory of a 1,000-row one, measured."""

from __future__ import annotations

import asyncio
import csv
import gc
import io
import tracemalloc
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import insert, update

from models.tables import Attempt, AttemptEvent, Course, ReviewTask
from store import catalog
from store.db import make_engine, session_factory, transaction
from store.exports import ExportFilter, attempt_batches, decision_batches
from tests.api.helpers import (
    assert_refused,
    decide,
    learner_takes_exam,
    open_attempt,
    proctored_course,
    review_task_of,
    unique,
)
from tests.support.database import fresh_database_url
from tests.support.keys import TEST_PAYLOAD_KEYS
from tests.support.servers import serve_in_thread
from tests.support.settings import loopback_settings
from tests.support.stack import Stack
from web.app import create_app

ATTEMPT_HEADER = (
    "attempt_id,course_id,lesson_id,learner_id,attempt_number,method,status,allowed_minutes,created_at,"
    "finished_at,exam_score,exam_passed,review_state,decision,decided_by,decided_at"
)
DECISION_HEADER = (
    "task_id,attempt_id,course_id,lesson_id,learner_id,method,flagged,audit_outcome,ready_at,decided_at,"
    "decision,decided_by,seconds_to_decision"
)


def rows_of(response: httpx.Response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    return list(csv.DictReader(io.StringIO(response.text)))


def stamp(moment: str | datetime | None) -> str:
    """A time as the exports write it."""
    if moment is None:
        return ""
    found = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    return found.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def decided_attempt(stack: Stack, course_id: str, decision: str, reviewer: str, score: float) -> dict:
    """A learner takes the record-only exam and a reviewer decides it; the attempt as the API
    tells it, with its task."""
    opened = await open_attempt(stack.api, course_id, unique("learner"))
    await learner_takes_exam(stack, opened["attempt_id"], passed=decision == "pass", score=score)
    task = await review_task_of(stack, opened["attempt_id"], "ready_for_review")
    await decide(stack, task["id"], decision, reviewer)
    task = (await stack.api.get(f"/review-tasks/{task['id']}")).json()
    attempt = (await stack.api.get(f"/attempts/{opened['attempt_id']}")).json()
    return attempt | {"task": task}


async def test_the_exports_carry_each_attempt_and_decision_of_the_course(stack: Stack):
    course_id, _ = await proctored_course(stack.api)
    passed = await decided_attempt(stack, course_id, "pass", "rita@lms", 91)
    failed = await decided_attempt(stack, course_id, "fail", "=SUM(A1:A9)", 42.5)  # a formula, as a name
    formula_learner = unique("@learner")  # "@" starts a formula in a spreadsheet
    waiting = await open_attempt(stack.api, course_id, formula_learner)  # opened, never taken

    attempts = await stack.api.get("/reports/attempts.csv", params={"course_id": course_id})
    assert attempts.headers["content-type"] == "text/csv; charset=utf-8"
    assert attempts.headers["content-disposition"] == f'attachment; filename="attempts-{course_id}.csv"'
    assert attempts.text.splitlines()[0] == ATTEMPT_HEADER
    assert "Ada Lovelace" not in attempts.text and "@example.org" not in attempts.text
    by_id = {row["attempt_id"]: row for row in rows_of(attempts)}
    assert list(by_id) == [passed["attempt_id"], failed["attempt_id"], waiting["attempt_id"]]  # oldest first

    for attempt, decision, decided_by in ((passed, "passed", "rita@lms"), (failed, "failed", "'=SUM(A1:A9)")):
        row = by_id[attempt["attempt_id"]]
        finished = next(step["at"] for step in attempt["events"] if step["event"] == "learner_finished")
        assert row == {
            "attempt_id": attempt["attempt_id"],
            "course_id": course_id,
            "lesson_id": "exam",
            "learner_id": attempt["learner_id"],
            "attempt_number": "1",
            "method": "record_only",
            "status": attempt["status"],
            "allowed_minutes": "",
            "created_at": stamp(attempt["created_at"]),
            "finished_at": stamp(finished),
            "exam_score": str(float(attempt["exam"]["score"])),
            "exam_passed": "true" if decision == "passed" else "false",
            "review_state": decision,
            "decision": decision,
            "decided_by": decided_by,
            "decided_at": stamp(attempt["task"]["completed_at"]),
        }
    assert by_id[passed["attempt_id"]]["exam_score"] == "91.0"
    assert by_id[waiting["attempt_id"]]["learner_id"] == "'" + formula_learner
    for blank in ("finished_at", "exam_score", "exam_passed", "review_state", "decision", "decided_at"):
        assert by_id[waiting["attempt_id"]][blank] == "", blank

    decisions = rows_of(await stack.api.get("/reports/decisions.csv", params={"course_id": course_id}))
    assert [row["attempt_id"] for row in decisions] == [passed["attempt_id"], failed["attempt_id"]]
    for row, attempt in zip(decisions, (passed, failed), strict=True):
        task = attempt["task"]
        waited = datetime.fromisoformat(task["completed_at"]) - datetime.fromisoformat(task["ready_at"])
        assert row["task_id"] == task["id"] and row["learner_id"] == attempt["learner_id"]
        assert (row["method"], row["flagged"], row["audit_outcome"]) == ("record_only", "false", "")
        assert row["ready_at"] == stamp(task["ready_at"]) and row["decided_at"] == stamp(task["completed_at"])
        assert row["seconds_to_decision"] == str(int(waited.total_seconds()))
    assert [row["decision"] for row in decisions] == ["passed", "failed"]
    assert [row["decided_by"] for row in decisions] == ["rita@lms", "'=SUM(A1:A9)"]


async def test_the_exports_filter_by_course_and_by_date(stack: Stack):
    course_id, _ = await proctored_course(stack.api)
    other_course, _ = await proctored_course(stack.api)
    decided = await decided_attempt(stack, course_id, "pass", "rita@lms", 80)
    january = await open_attempt(stack.api, course_id, unique("learner"))
    elsewhere = await open_attempt(stack.api, other_course, unique("learner"))
    with transaction(stack.sessions) as session:  # as if the LMS had opened it in January
        session.execute(
            update(Attempt)
            .where(Attempt.id == january["attempt_id"])
            .values(created_at=datetime(2024, 1, 31, 23, 59, tzinfo=UTC))
        )

    async def attempt_ids(**params: str) -> list[str]:
        response = await stack.api.get("/reports/attempts.csv", params={"course_id": course_id} | params)
        return [row["attempt_id"] for row in rows_of(response)]

    assert await attempt_ids() == [january["attempt_id"], decided["attempt_id"]]
    assert await attempt_ids(**{"from": "2024-01-01", "to": "2024-02-01"}) == [january["attempt_id"]]
    assert await attempt_ids(**{"from": "2024-01-01", "to": "2024-01-31T23:59:00Z"}) == []  # `to` left out
    assert await attempt_ids(**{"from": "2024-02-01T00:59:01+01:00"}) == [decided["attempt_id"]]
    assert await attempt_ids(to="2024-02-01T00:59:01+01:00") == [january["attempt_id"]]
    assert await attempt_ids(to="2024-01-31") == []
    every = rows_of(await stack.api.get("/reports/attempts.csv"))
    assert {elsewhere["attempt_id"], january["attempt_id"]} <= {row["attempt_id"] for row in every}
    only_other = rows_of(await stack.api.get("/reports/attempts.csv", params={"course_id": other_course}))
    assert [row["attempt_id"] for row in only_other] == [elsewhere["attempt_id"]]

    decided_at = datetime.fromisoformat(decided["task"]["completed_at"])

    async def decision_ids(**params: str) -> list[str]:
        response = await stack.api.get("/reports/decisions.csv", params={"course_id": course_id} | params)
        return [row["attempt_id"] for row in rows_of(response)]

    assert await decision_ids(**{"from": decided_at.isoformat()}) == [decided["attempt_id"]]
    assert await decision_ids(to=decided_at.isoformat()) == []
    assert await decision_ids(**{"from": (decided_at + timedelta(seconds=1)).isoformat()}) == []
    named = await stack.api.get(
        "/reports/decisions.csv", params={"course_id": course_id, "from": "2024-01-01", "to": "2099-01-01"}
    )
    assert named.headers["content-disposition"] == (
        f'attachment; filename="decisions-{course_id}-from-20240101-to-20990101.csv"'
    )


async def test_bad_parameters_say_what_to_fix(stack: Stack):
    for path in ("/reports/attempts.csv", "/reports/decisions.csv"):
        assert_refused(await stack.api.get(path, params={"from": "2024-13-01"}), 422, "from", "ISO date")
        assert_refused(await stack.api.get(path, params={"to": "yesterday"}), 422, "to", "ISO date")
        # An offset's unescaped + reads as a space in a query string: the message says so.
        assert_refused(await stack.api.get(f"{path}?from=2024-05-01T09:30:00+02:00"), 422, "%2B")
        assert_refused(
            await stack.api.get(path, params={"from": "2024-05-02", "to": "2024-05-01"}), 422, "from", "after"
        )
        assert_refused(await stack.api.get(path, params={"course_id": "c" * 201}), 422, "course_id")
        assert_refused(
            await stack.api.get(path, params={"course_id": "no-such-course"}), 404, "no-such-course"
        )
    assert (await stack.api.get("/reports/attempts.csv", headers={"Authorization": ""})).status_code == 401


async def test_another_organisation_sees_none_of_the_rows(stack: Stack, other_org: httpx.AsyncClient):
    course_id, _ = await proctored_course(stack.api)
    mine = await decided_attempt(stack, course_id, "pass", "rita@lms", 77)

    for path in ("/reports/attempts.csv", "/reports/decisions.csv"):
        everything = await other_org.get(path)
        assert everything.status_code == 200 and mine["attempt_id"] not in everything.text
        assert rows_of(everything) == []
        # Our course's id reads as unknown to them, as any id of ours does.
        assert_refused(await other_org.get(path, params={"course_id": course_id}), 404, course_id)
    ours = await stack.api.get("/reports/decisions.csv")
    assert mine["task"]["id"] in {row["task_id"] for row in rows_of(ours)}


# --- 10,000 rows in constant memory -------------------------------------------------------------

SMALL, BIG = 1_000, 10_000


@dataclass
class Exporting:
    base_url: str
    token: str
    sessions: Any


@pytest.fixture(scope="module")
async def exporting(dev_server, tmp_path_factory) -> AsyncIterator[Exporting]:
    """The web app alone (no worker) over real HTTP, on a migrated database holding an
    organisation with a course of SMALL attempts and one of BIG, each decided."""
    database_url = await asyncio.to_thread(fresh_database_url, tmp_path_factory.mktemp("exports"))
    client = dev_server.client
    settings = loopback_settings(
        database_url, client.service_client.config.target_host, unique("test"), TEST_PAYLOAD_KEYS
    )
    engine = make_engine(database_url)
    sessions = session_factory(engine)
    token = unique("token")
    await asyncio.to_thread(_fill, sessions, token)
    with serve_in_thread(create_app(settings, temporal=client), settings.http_port) as base_url:
        yield Exporting(base_url, token, sessions)
    engine.dispose()


def _fill(sessions: Any, token: str) -> None:
    began = datetime(2024, 3, 1, tzinfo=UTC)
    with transaction(sessions) as session:
        catalog.ensure_organisation(session, "bulk-org", "Bulk")
        catalog.grant_token(session, "bulk-org", token, name="test")
        for course_id, count in (("small", SMALL), ("big", BIG)):
            session.add(Course(org_id="bulk-org", id=course_id, title=course_id))
            attempts, tasks, steps = [], [], []
            for n in range(count):
                opened = began + timedelta(seconds=n)
                attempt_id, ready = f"{course_id}-{n:05d}", opened + timedelta(hours=1)
                attempts.append(
                    Attempt(
                        id=attempt_id,
                        org_id="bulk-org",
                        course_id=course_id,
                        lesson_id="exam",
                        learner_id=f"learner-{n:05d}",
                        attempt_number=1,
                        workflow_id=f"wf-{attempt_id}",
                        integration_id="integration",
                        method="full",
                        required=True,
                        requires_validation=True,
                        status="completed",
                        exam_score=float(n % 100),
                        exam_passed=n % 2 == 0,
                        allowed_minutes=60,
                        created_at=opened,
                        updated_at=opened,
                    ).model_dump()
                )
                tasks.append(
                    ReviewTask(
                        id=f"task-{attempt_id}",
                        org_id="bulk-org",
                        attempt_id=attempt_id,
                        course_id=course_id,
                        lesson_id="exam",
                        learner_id=f"learner-{n:05d}",
                        method="full",
                        state="passed" if n % 2 == 0 else "failed",
                        audit_outcome="clean",
                        created_at=opened,
                        ready_at=ready,
                        completed_at=ready + timedelta(seconds=n % 3600),
                        decided_by="rita@lms",
                    ).model_dump()
                )
                steps.append({"attempt_id": attempt_id, "seq": 1, "at": opened, "event": "learner_finished"})
            session.execute(insert(Attempt), attempts)
            session.execute(insert(ReviewTask), tasks)
            session.execute(insert(AttemptEvent), steps)


async def streamed(client: httpx.AsyncClient, url: str) -> tuple[int, int, int]:
    """Stream one export, keeping nothing: (peak memory growth meanwhile, bytes, lines)."""
    gc.collect()
    tracemalloc.reset_peak()
    before, _ = tracemalloc.get_traced_memory()
    size = lines = 0
    async with client.stream("GET", url) as response:
        assert response.status_code == 200
        assert "content-length" not in response.headers  # streamed, not built whole first
        async for chunk in response.aiter_bytes():
            size, lines = size + len(chunk), lines + chunk.count(b"\n")
    return tracemalloc.get_traced_memory()[1] - before, size, lines


def held_at_once(sessions: Any, kind: str, course_id: str) -> int:
    """The memory that holding every row of the export at once takes (one batch of them all)."""
    batches = attempt_batches if kind == "attempts" else decision_batches
    gc.collect()
    tracemalloc.reset_peak()
    before, _ = tracemalloc.get_traced_memory()
    wanted = ExportFilter("bulk-org", course_id)
    everything = [row for batch in batches(sessions, wanted, BIG + 1) for row in batch]
    assert len(everything) == BIG
    return tracemalloc.get_traced_memory()[1] - before


@pytest.mark.parametrize("kind", ["attempts", "decisions"])
async def test_a_10000_row_export_streams_in_the_memory_of_a_1000_row_one(exporting: Exporting, kind: str):
    headers = {"Authorization": f"Bearer {exporting.token}"}
    base_url = f"{exporting.base_url}/api/v1"
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=120) as api:
        url = f"/reports/{kind}.csv"
        tracemalloc.start()
        try:
            await streamed(api, f"{url}?course_id=small")  # the first call fills caches that last
            small, _, small_lines = await streamed(api, f"{url}?course_id=small")
            big, big_bytes, big_lines = await streamed(api, f"{url}?course_id=big")
            held = await asyncio.to_thread(held_at_once, exporting.sessions, kind, "big")
        finally:
            tracemalloc.stop()
    print(
        f"\n{kind}.csv: {SMALL} rows peaked at {small / 1024:.0f} KiB, {BIG} rows "
        f"({big_bytes / 1024:.0f} KiB of CSV) at {big / 1024:.0f} KiB; "
        f"holding the {BIG} rows at once takes {held / 1024:.0f} KiB"
    )
    assert (small_lines, big_lines) == (SMALL + 1, BIG + 1)
    assert big < 2 * small, "the 10,000-row export took much more memory than the 1,000-row one"
    assert big * 4 < held, "the 10,000-row export took about what holding all its rows does"
