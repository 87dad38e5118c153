"""Idempotent, convergent writes of the attempt's records: retries change nothing, and the
writes of a lost workflow task give way to the run that replaced it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from models.api import CourseIn, CourseSettingsIn, LessonIn
from models.payloads import (
    AttemptKey,
    CompletionRequest,
    DecisionStep,
    ReviewTaskChange,
    StatusChange,
    StepBatch,
)
from models.tables import Attempt, AttemptEvent, Certificate, LessonProgress, ReviewTask
from store import catalog
from store.db import SessionFactory, make_engine, session_factory, transaction
from store.records import (
    IllegalTransition,
    abandon,
    record_change,
    record_decision,
    record_steps,
    upsert_review_task,
)
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


def recorded_steps(sessions: SessionFactory) -> list[tuple[int, str]]:
    """Attempt a1's steps as the database holds them: (seq, event), in order."""
    with sessions() as session:
        rows = session.exec(
            select(AttemptEvent.seq, AttemptEvent.event)
            .where(AttemptEvent.attempt_id == "a1")
            .order_by(AttemptEvent.seq)
        ).all()
    return [(seq, event) for seq, event in rows]


def recorded_events(sessions: SessionFactory) -> list[str]:
    return [event for _, event in recorded_steps(sessions)]


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
    events = recorded_events(sessions)
    assert attempt.status == "completed"
    assert list(events) == [
        "opened",
        "vendor_session_created",
        "learner_finished",
        "decided",
        "lesson_completed",
        "completed",
    ]


def ready_for_decision(sessions: SessionFactory, *other_required_lessons: str) -> DecisionStep:
    """Attempt a1 of lesson `l` ready for review with a passed quiz, in a course that certifies;
    the decision's step that passes it."""
    with transaction(sessions) as session:
        catalog.ensure_organisation(session, "o", "Org")
        lessons = [
            LessonIn(id=lesson_id, title=lesson_id.title(), type="quiz", required=True)
            for lesson_id in ("l", *other_required_lessons)
        ]
        catalog.put_course(
            session,
            "o",
            "c",
            CourseIn(title="Course", lessons=lessons, settings=CourseSettingsIn(certificate=True)),
        )
        for seq, event, status in (
            (1, "vendor_session_created", "awaiting_setup"),
            (2, "learner_finished", "finished"),
            (3, "ready_for_review", "ready_for_review"),
        ):
            record_change(session, StatusChange(attempt_id="a1", seq=seq, event=event, status=status, at=NOW))
        attempt = session.get(Attempt, "a1")
        attempt.exam_score, attempt.exam_passed = 90, True  # the LMS's result, stored by the API
        session.add(attempt)
    key = AttemptKey(org_id="o", course_id="c", lesson_id="l", learner_id="p", attempt_number=1)
    return DecisionStep(
        decided=StatusChange(attempt_id="a1", seq=4, event="decided", status="passed", at=NOW),
        review=ReviewTaskChange(attempt_id="a1", state="passed", at=NOW, decided_by="rita"),
        completion=CompletionRequest(attempt_id="a1", key=key, decision="pass", at=NOW),
        reported=[
            StatusChange(attempt_id="a1", seq=5, event="lesson_completed", at=NOW),
            StatusChange(attempt_id="a1", seq=6, event="completed", status="completed", at=NOW),
        ],
    )


def test_a_decision_is_one_step_that_completes_everything_and_a_retry_changes_nothing(sessions):
    step = ready_for_decision(sessions)
    reports = []
    for _ in range(2):  # the local activity retried after its transaction committed
        with transaction(sessions) as session:
            reports.append(record_decision(session, step))

    assert reports[0] == reports[1] and reports[0].course_completed and reports[0].certificate_issued
    events = recorded_steps(sessions)
    with sessions() as session:
        assert sorted(events)[-3:] == [(4, "decided"), (5, "lesson_completed"), (6, "completed")]
        reported = session.exec(select(AttemptEvent).where(AttemptEvent.seq == 6)).one()
        assert reported.detail["certificate_issued"] is True, "the completion report is in the reported steps"
        assert session.get(Attempt, "a1").status == "completed"
        assert session.exec(select(ReviewTask)).one().decided_by == "rita"
        assert len(session.exec(select(LessonProgress)).all()) == 1
        assert len(session.exec(select(Certificate)).all()) == 1


def test_a_decision_written_again_answers_what_its_first_write_reported_though_the_course_moved_on(sessions):
    """A run that lost its workflow task after the write takes the same decision again: its
    result must tell the story the event log holds, not the course as it is by then."""
    step = ready_for_decision(sessions, "l2")
    with transaction(sessions) as session:
        first = record_decision(session, step)
    with transaction(sessions) as session:  # the other required lesson completes meanwhile
        session.add(
            LessonProgress(
                org_id="o", course_id="c", lesson_id="l2", learner_id="p", completed_at=NOW, success=True
            )
        )
    with transaction(sessions) as session:
        again = record_decision(session, step)

    assert not first.course_completed and "l2" in first.course_reason
    assert again == first
    with sessions() as session:
        stored = session.exec(select(AttemptEvent).where(AttemptEvent.seq == 6)).one()
    assert (stored.detail["course_completed"], stored.detail["course_reason"]) == (False, first.course_reason)


def test_the_steps_of_one_workflow_task_are_written_together_and_a_retry_changes_nothing(sessions):
    """FINISH as the workflow writes it before waiting for the audit: two moves and the task."""
    batch = StepBatch(
        changes=[
            StatusChange(
                attempt_id="a1", seq=1, event="vendor_session_created", status="awaiting_setup", at=NOW
            ),
            StatusChange(attempt_id="a1", seq=2, event="learner_finished", status="finished", at=NOW),
            StatusChange(attempt_id="a1", seq=3, event="awaiting_audit", status="awaiting_audit", at=NOW),
        ],
        reviews=[ReviewTaskChange(attempt_id="a1", state="not_ready", at=NOW)],
    )
    for _ in range(2):  # the local activity retried after its transaction committed
        with transaction(sessions) as session:
            record_steps(session, batch)

    events = recorded_steps(sessions)
    with sessions() as session:
        assert sorted(events) == [
            (0, "opened"),
            (1, "vendor_session_created"),
            (2, "learner_finished"),
            (3, "awaiting_audit"),
        ]
        assert session.get(Attempt, "a1").status == "awaiting_audit"
        assert session.exec(select(ReviewTask)).one().state == "not_ready"


def test_a_step_batch_that_breaks_the_state_machine_writes_none_of_it(sessions):
    batch = StepBatch(
        changes=[
            StatusChange(
                attempt_id="a1", seq=1, event="vendor_session_created", status="awaiting_setup", at=NOW
            ),
            StatusChange(attempt_id="a1", seq=2, event="completed", status="completed", at=NOW),
        ],
        reviews=[ReviewTaskChange(attempt_id="a1", state="not_ready", at=NOW)],
    )
    with pytest.raises(IllegalTransition), transaction(sessions) as session:
        record_steps(session, batch)

    with sessions() as session:
        assert session.get(Attempt, "a1").status == "created"
        assert session.exec(select(ReviewTask)).first() is None


def test_a_step_batch_that_meets_a_lost_workflow_tasks_writes_replaces_them(sessions):
    """A lost task wrote "ready_for_review" and "decided" as seqs 2 and 3; the replay's batch
    writes seq 2 again as it was and "decided" as seq 3, from a longer history."""

    def batch(*steps: tuple[int, str, str | None, int]) -> None:
        changes = [
            StatusChange(attempt_id="a1", seq=seq, event=event, status=status, at=NOW, history_length=length)
            for seq, event, status, length in steps
        ]
        with transaction(sessions) as session:
            record_steps(session, StepBatch(changes=changes))

    batch((1, "vendor_session_created", "awaiting_setup", 5), (2, "learner_finished", "finished", 5))
    batch((3, "ready_for_review", "ready_for_review", 10), (4, "decided", "passed", 10))  # lost
    batch((3, "decided", "passed", 14), (4, "lesson_completed", None, 14), (5, "completed", "completed", 14))

    events = recorded_events(sessions)
    with sessions() as session:
        assert session.get(Attempt, "a1").status == "completed"
    assert list(events) == [
        "opened",
        "vendor_session_created",
        "learner_finished",
        "decided",
        "lesson_completed",
        "completed",
    ]


def test_of_two_tries_of_one_workflow_task_the_later_one_stands(sessions):
    """A workflow task retried after a timeout is not in the history until it completes, so
    its tries all see the same history length; when two were lost after writing and took
    different branches (the decision arrived in between), the later try's steps stand."""
    first_try, second_try = NOW, NOW + timedelta(seconds=12)

    def write(seq: int, event: str, status: str | None, at: datetime) -> bool:
        change = StatusChange(attempt_id="a1", seq=seq, event=event, status=status, at=at, history_length=35)
        with transaction(sessions) as session:
            return record_change(session, change)

    assert write(1, "vendor_session_created", "awaiting_setup", first_try)
    assert write(2, "learner_finished", "finished", first_try)
    assert write(3, "awaiting_audit", "awaiting_audit", first_try)  # the first try, then lost
    assert write(3, "ready_for_review", "ready_for_review", second_try), "the later try replaces it"
    assert not write(3, "awaiting_audit", "awaiting_audit", first_try), "the first try's retry is ignored"
    assert write(4, "decided", "passed", second_try)

    events = recorded_events(sessions)
    with sessions() as session:
        assert session.get(Attempt, "a1").status == "passed"
    assert list(events) == [
        "opened",
        "vendor_session_created",
        "learner_finished",
        "ready_for_review",
        "decided",
    ]


def write_steps(sessions: SessionFactory, *steps: tuple[int, str, str | None], run_id: str | None = "run-1"):
    changes = [
        StatusChange(attempt_id="a1", seq=seq, event=event, status=status, at=NOW, run_id=run_id)
        for seq, event, status in steps
    ]
    with transaction(sessions) as session:
        record_steps(session, StepBatch(changes=changes))


def test_the_first_run_that_writes_owns_the_attempt_and_each_step_names_its_run(sessions):
    write_steps(sessions, (1, "vendor_session_created", "awaiting_setup"))
    write_steps(sessions, (2, "learner_started", "in_progress"))

    with sessions() as session:
        assert session.get(Attempt, "a1").run_id == "run-1"
        runs = session.exec(select(AttemptEvent.seq, AttemptEvent.run_id).order_by(AttemptEvent.seq)).all()
    assert [tuple(row) for row in runs] == [(0, None), (1, "run-1"), (2, "run-1")]


def test_the_exam_result_step_stores_the_result_when_none_is_stored_and_the_first_one_wins(sessions):
    def note(seq: int, passed: bool, score: float) -> None:
        change = StatusChange(
            attempt_id="a1", seq=seq, event="exam_result", at=NOW, detail={"score": score, "passed": passed}
        )
        with transaction(sessions) as session:
            record_change(session, change)

    note(1, passed=False, score=35)
    note(2, passed=True, score=95)

    with sessions() as session:
        attempt = session.get(Attempt, "a1")
    assert (attempt.exam_passed, attempt.exam_score) == (False, 35)


@pytest.mark.parametrize("final", ["passed", "failed", "closed"])
def test_a_completed_task_is_never_reopened_nor_turned_into_another_by_a_late_write(sessions, final):
    later = datetime(2030, 1, 1, tzinfo=UTC)
    with transaction(sessions) as session:
        upsert_review_task(session, ReviewTaskChange(attempt_id="a1", state="ready_for_review", at=NOW))
        upsert_review_task(session, ReviewTaskChange(attempt_id="a1", state=final, at=NOW, decided_by="rita"))
    for late in ("not_ready", "ready_for_review", "passed", "failed", "closed"):
        with transaction(sessions) as session:
            late_write = ReviewTaskChange(attempt_id="a1", state=late, at=later, decided_by="x")
            upsert_review_task(session, late_write)

    with sessions() as session:
        task = session.exec(select(ReviewTask)).one()
    assert (task.state, task.completed_at) == (final, NOW)
    assert task.decided_by == (None if final == "closed" else "rita")


def test_abandon_ends_an_open_attempt_as_ops_wrote_it_and_closes_its_task(sessions):
    write_steps(
        sessions, (1, "vendor_session_created", "awaiting_setup"), (2, "learner_finished", "finished")
    )
    with transaction(sessions) as session:
        upsert_review_task(session, ReviewTaskChange(attempt_id="a1", state="ready_for_review", at=NOW))
    later = NOW + timedelta(hours=1)

    with transaction(sessions) as session:
        assert abandon(session, "a1", "its workflow run was terminated", later)
    with transaction(sessions) as session:
        assert not abandon(session, "a1", "again", later), "an attempt that ended is left as it is"

    with sessions() as session:
        attempt = session.get(Attempt, "a1")
        step = session.exec(select(AttemptEvent).where(AttemptEvent.seq == 3)).one()
        task = session.exec(select(ReviewTask)).one()
    assert attempt.status == "expired" and attempt.last_seq == 3
    assert (step.event, step.status, step.run_id) == ("abandoned", "expired", None)
    assert step.detail == {"reason": "its workflow run was terminated"}
    assert (task.state, task.completed_at) == ("closed", later)


def test_a_terminated_runs_write_landing_after_abandon_changes_nothing(sessions):
    """A local activity of a terminated run can still finish its write after ops abandoned the
    attempt: under the abandoned step's seq or after it, it is ignored."""
    write_steps(sessions, (1, "vendor_session_created", "awaiting_setup"))
    with transaction(sessions) as session:
        assert abandon(session, "a1", "its workflow run was terminated", NOW)

    write_steps(sessions, (2, "learner_finished", "finished"), (3, "ready_for_review", "ready_for_review"))
    write_steps(sessions, (3, "learner_finished", "finished"))

    with sessions() as session:
        assert session.get(Attempt, "a1").status == "expired"
    assert recorded_events(sessions) == ["opened", "vendor_session_created", "abandoned"]


def test_a_refused_move_names_the_attempt_and_both_statuses(sessions):
    write_steps(sessions, (1, "vendor_session_created", "awaiting_setup"))
    with pytest.raises(IllegalTransition, match="attempt a1: awaiting_setup cannot move to completed"):
        write_steps(sessions, (2, "completed", "completed"))
