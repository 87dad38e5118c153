"""Idempotent writes of the attempt's records."""

from __future__ import annotations


def test_a_review_task_never_moves_back_when_a_late_write_replays(tmp_path):
    from datetime import UTC, datetime

    from models.payloads import ReviewTaskChange
    from models.tables import Attempt
    from store.db import make_engine, session_factory, transaction
    from store.migrate import upgrade
    from store.records import upsert_review_task

    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    upgrade(url)
    sessions = session_factory(make_engine(url))
    now = datetime.now(UTC)
    with transaction(sessions) as session:
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
                status="finished",
            )
        )
    for state in ("not_ready", "ready_for_review", "not_ready", "passed", "ready_for_review"):
        with transaction(sessions) as session:
            upsert_review_task(session, ReviewTaskChange(attempt_id="a1", state=state, at=now))
    with sessions() as session:
        from sqlmodel import select

        from models.tables import ReviewTask

        task = session.exec(select(ReviewTask)).one()
        assert task.state == "passed" and task.ready_at is not None and task.completed_at is not None


def test_steps_of_a_lost_workflow_task_give_way_to_the_replay(tmp_path):
    """A killed worker's local activities wrote "ready_for_review" and "decided" under seqs 3
    and 4; the replay, with the decision now earlier in the history, writes "decided" as seq 3."""
    from datetime import UTC, datetime

    from sqlmodel import select

    from models.payloads import StatusChange
    from models.tables import Attempt, AttemptEvent
    from store.db import make_engine, session_factory, transaction
    from store.migrate import upgrade
    from store.records import record_change

    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    upgrade(url)
    sessions = session_factory(make_engine(url))
    now = datetime.now(UTC)
    with transaction(sessions) as session:
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
                method="record_only",
                required=True,
                requires_validation=True,
                status="created",
            )
        )
        session.add(AttemptEvent(attempt_id="a1", seq=0, at=now, event="opened", status="created"))

    def write(seq: int, event: str, status: str | None, history_length: int = 10) -> bool:
        change = StatusChange(
            attempt_id="a1", seq=seq, event=event, status=status, at=now, history_length=history_length
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
