"""Idempotent, convergent writes of the attempt's records: retries change nothing, and the
writes of a lost workflow task give way to the run that replaced it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import select

from models.payloads import ReviewTaskChange, StatusChange
from models.tables import Attempt, AttemptEvent, ReviewTask
from store.db import SessionFactory, make_engine, session_factory, transaction
from store.records import record_change, upsert_review_task
from tests.support.database import fresh_database_url

NOW = datetime.now(UTC)


@pytest.fixture
def sessions(tmp_path) -> SessionFactory:
    """A database holding one opened attempt, `a1`."""
    engine = make_engine(fresh_database_url(tmp_path))
    factory = session_factory(engine)
    with transaction(factory) as session:
        session.add(
            Attempt(
                id="a1",
                org_id="o",
                course_id="c",
                lesson_id="l",
                learner_id="p",
                attempt_number=1,
                workflow_id="w",
                integration_id="i",
                method="full",
                required=True,
                requires_validation=True,
                status="created",
            )
        )
        session.add(AttemptEvent(attempt_id="a1", seq=0, at=NOW, event="opened", status="created"))
    yield factory
    engine.dispose()


def test_a_review_task_never_moves_back_when_a_late_write_replays(sessions):
    for state in ("not_ready", "ready_for_review", "not_ready", "passed", "ready_for_review"):
        with transaction(sessions) as session:
            upsert_review_task(session, ReviewTaskChange(attempt_id="a1", state=state, at=NOW))
    with sessions() as session:
        task = session.exec(select(ReviewTask)).one()
    assert task.state == "passed" and task.ready_at is not None and task.completed_at is not None


def test_steps_of_a_lost_workflow_task_give_way_to_the_replay(sessions):
    """A killed worker's local activities wrote "ready_for_review" and "decided" under seqs 3
    and 4; the replay, with the decision now earlier in the history, writes "decided" as seq 3."""

    def write(seq: int, event: str, status: str | None, history_length: int = 10) -> bool:
        change = StatusChange(
            attempt_id="a1", seq=seq, event=event, status=status, at=NOW, history_length=history_length
        )
        with transaction(sessions) as session:
            return record_change(session, change)

    assert write(1, "vendor_session_created", "awaiting_setup")
    assert write(2, "learner_finished", "finished")
    assert write(3, "ready_for_review", "ready_for_review")
    assert write(4, "decided", "passed")  # then the worker dies before its task is recorded
    assert not write(2, "learner_finished", "finished"), "a retried write changes nothing"
    assert write(3, "decided", "passed", history_length=14), (
        "the replay's different step replaces the lost ones"
    )
    assert write(4, "lesson_completed", None, history_length=14)
    assert not write(4, "decided", "passed", history_length=10), (
        "a lost task's write arriving late is ignored"
    )
    assert write(5, "completed", "completed", history_length=20)
    with sessions() as session:
        attempt = session.get(Attempt, "a1")
        events = session.exec(
            select(AttemptEvent.event).where(AttemptEvent.attempt_id == "a1").order_by(AttemptEvent.seq)
        ).all()
    assert attempt.status == "completed"
    assert list(events) == [
        "opened",
        "vendor_session_created",
        "learner_finished",
        "decided",
        "lesson_completed",
        "completed",
    ]
