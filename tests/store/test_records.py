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
