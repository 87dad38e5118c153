"""Notices queued in the transaction of the step they tell (store/notices.py, hooked into
store/records.py): to whom, in which words, and never twice for one thing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import select

from models.payloads import StatusChange
from models.settings import Notifications, SettingsIn, Template
from models.statuses import StepEvent
from models.tables import Attempt, AttemptEvent, Course, Learner, Lesson, Notice, Organisation, ReviewTask
from store import notices
from store import settings as org_settings
from store.db import SessionFactory, make_engine, session_factory, transaction
from store.records import record_change
from tests.support.database import fresh_database_url

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
LEARNER = ("Ada Lovelace", "ada.lovelace@example.org")


@pytest.fixture
def sessions(tmp_path) -> Iterator[SessionFactory]:
    """Organisation `o`: course `c` "Widget engineering", lesson `l` "Final exam", learner `p`
    (Ada), and her opened attempt `a1`."""
    engine = make_engine(fresh_database_url(tmp_path))
    factory = session_factory(engine)
    with transaction(factory) as session:
        session.add(Organisation(id="o", name="Widget Academy"))
        session.flush()
        session.add(Course(org_id="o", id="c", title="Widget engineering"))
        session.add(Lesson(org_id="o", course_id="c", id="l", title="Final exam", type="quiz"))
        session.add(Learner(org_id="o", id="p", name=LEARNER[0], email=LEARNER[1]))
        add_attempt(session, "a1")
    yield factory
    engine.dispose()


def add_attempt(session, attempt_id: str, learner_id: str = "p") -> None:
    session.add(
        Attempt(
            id=attempt_id,
            org_id="o",
            course_id="c",
            lesson_id="l",
            learner_id=learner_id,
            attempt_number=1,
            workflow_id=f"attempt-{attempt_id}",
            integration_id="i",
            method="full",
            required=True,
            requires_validation=True,
            status="created",
        )
    )
    session.add(AttemptEvent(attempt_id=attempt_id, seq=0, at=NOW, event="opened", status="created"))


def configure(sessions: SessionFactory, **settings) -> None:
    with transaction(sessions) as session:
        org_settings.write(session, "o", SettingsIn(**settings))


def step(event: StepEvent, seq: int, attempt_id: str = "a1", history: int = 10, **detail) -> StatusChange:
    return StatusChange(
        attempt_id=attempt_id, seq=seq, history_length=history, event=event, detail=detail, at=NOW
    )


def write(sessions: SessionFactory, *changes: StatusChange) -> None:
    for change in changes:
        with transaction(sessions) as session:
            record_change(session, change)


def stored(sessions: SessionFactory) -> list[Notice]:
    with sessions() as session:
        return list(session.exec(select(Notice).order_by(Notice.id)))


EVERYTHING = Notifications(learner_submitted=True, learner_decided=True)


def test_the_learner_is_told_when_it_is_submitted_and_when_it_is_decided(sessions):
    configure(sessions, notifications=EVERYTHING, sender_name="Widget Academy")
    write(sessions, step(StepEvent.LEARNER_FINISHED, 1))
    write(sessions, step(StepEvent.DECIDED, 2, decision="fail", by="rita"))

    submitted, decided = sorted(stored(sessions), key=lambda n: n.created_at)
    assert (submitted.id, submitted.kind, submitted.to_address) == (
        "learner_submitted:a1",
        "learner_submitted",
        LEARNER[1],
    )
    assert submitted.subject == "We received your attempt: Final exam"
    assert submitted.body.startswith("Hello Ada Lovelace,\n")
    assert '"Final exam" (Widget engineering) was submitted' in submitted.body
    assert "Attempt: a1" in submitted.body and submitted.body.rstrip().endswith("Widget Academy")
    assert (decided.id, decided.subject) == ("learner_decided:a1", "Your attempt at Final exam: failed")
    assert (decided.state, decided.tries, decided.sent_at) == ("pending", 0, None)


@pytest.mark.parametrize(
    ("locale", "subject", "words_"),
    [
        ("fr", "Votre tentative pour Final exam : validée", "Bonjour Ada Lovelace,"),
        ("de", "Ihr Versuch „Final exam“: bestanden", "Hallo Ada Lovelace,"),
        ("es", "Su intento de Final exam: aprobado", "Hola, Ada Lovelace:"),
    ],
)
def test_the_built_in_wording_is_the_organisations_locales(sessions, locale, subject, words_):
    configure(sessions, notifications=EVERYTHING, locale=locale)
    write(sessions, step(StepEvent.DECIDED, 2, decision="pass", by="rita"))
    (decided,) = stored(sessions)
    assert decided.subject == subject
    assert decided.body.startswith(words_)


def test_the_organisations_own_template_replaces_the_built_in_one_for_its_kind(sessions):
    own = Template(
        subject="{course_title}: {decision}", body="Dear {learner_name}, {lesson_title} {decision}. {nope}"
    )
    configure(sessions, notifications=EVERYTHING, locale="de", templates={"learner_decided": own})
    write(sessions, step(StepEvent.LEARNER_FINISHED, 1), step(StepEvent.DECIDED, 2, decision="pass"))
    by_kind = {n.kind: n for n in stored(sessions)}
    assert by_kind["learner_decided"].subject == "Widget engineering: bestanden"
    assert by_kind["learner_decided"].body == "Dear Ada Lovelace, Final exam bestanden. {nope}"
    assert by_kind["learner_submitted"].subject == "Ihr Versuch ist eingegangen: Final exam"  # built in


def test_an_organisation_that_did_not_ask_e_mails_nobody(sessions):
    write(sessions, step(StepEvent.LEARNER_FINISHED, 1))  # no settings: every notification off
    configure(sessions, notifications=Notifications(learner_submitted=True))
    write(sessions, step(StepEvent.DECIDED, 2, decision="pass"), step(StepEvent.ESCALATED, 3, why="overdue"))
    assert stored(sessions) == []  # decided off, no escalation contact; submitted came before


def test_a_step_written_again_or_rewritten_never_queues_a_second_notice(sessions):
    configure(sessions, notifications=EVERYTHING)
    finished = step(StepEvent.LEARNER_FINISHED, 1)
    write(sessions, finished, finished)  # a retried write
    # A lost workflow task's branch wrote seq 2 and 3; the run that replaced it rewrites them.
    write(sessions, step(StepEvent.DECIDED, 2, decision="pass"), step(StepEvent.COMPLETED, 3))
    write(sessions, step(StepEvent.EXAM_RESULT, 2, history=20))
    write(sessions, step(StepEvent.DECIDED, 3, history=20, decision="pass"))
    with sessions() as session:
        events = [e.event for e in session.exec(select(AttemptEvent).order_by(AttemptEvent.seq))]
    assert events == ["opened", "learner_finished", "exam_result", "decided"]
    assert [n.id for n in stored(sessions)] == ["learner_decided:a1", "learner_submitted:a1"]


def test_each_escalation_step_tells_the_contact_once(sessions):
    configure(sessions, escalation_email="head@school.example", locale="fr")
    with transaction(sessions) as session:
        session.add(
            ReviewTask(
                id="t1",
                org_id="o",
                attempt_id="a1",
                course_id="c",
                lesson_id="l",
                learner_id="p",
                method="full",
                state="ready_for_review",
                due_at=NOW - timedelta(hours=1),
            )
        )
    overdue = step(StepEvent.ESCALATED, 4, why="overdue")
    write(sessions, overdue, overdue, step(StepEvent.ESCALATED, 6, why="disagreement"))
    first, second = stored(sessions)
    assert (first.id, second.id) == ("escalation:a1:4", "escalation:a1:6")
    assert first.to_address == "head@school.example"
    assert first.subject == "Tâche de correction signalée : Widget engineering / Final exam"
    assert "elle n'a pas été décidée dans les délais" in first.body
    assert "Échéance : 2026-12-01 08:00 UTC" in first.body
    assert "Tâche : {public_url}/review/tasks/t1" in first.body  # the sender completes the link
    assert "les deux correcteurs ne sont pas d'accord" in second.body
    assert LEARNER[0] not in first.body + second.body and LEARNER[1] not in first.body + second.body


def test_the_same_key_twice_is_queued_once_and_keeps_the_first(sessions):
    key = "escalation:x:1"
    with transaction(sessions) as session:
        assert notices.queue(session, "o", "escalation", key, "a@example.org", {"why": "one"})
        assert not notices.queue(session, "o", "escalation", key, "b@example.org", {"why": "two"})
    with transaction(sessions) as session:  # and in another transaction
        assert not notices.queue(session, "o", "escalation", key, "b@example.org", {"why": "two"})
    (only,) = stored(sessions)
    assert only.to_address == "a@example.org" and "one" in only.body


def test_the_digest_lists_ready_tasks_without_learners_once_a_day(sessions):
    recipients = ["rita@school.example", "ravi@school.example"]
    configure(sessions, notifications=Notifications(reviewer_digest=True, digest_recipients=recipients))
    day = date(2026, 12, 2)
    with transaction(sessions) as session:
        assert notices.queue_digests(session, day) == []  # nothing ready: no digest
        for n, state in enumerate(["ready_for_review", "ready_for_review", "passed", "not_ready"]):
            session.add(
                ReviewTask(
                    id=f"task-{n}",
                    org_id="o",
                    attempt_id=f"a{n + 2}",
                    course_id="c",
                    lesson_id="l",
                    learner_id="p",
                    method="full",
                    state=state,
                    ready_at=NOW + timedelta(minutes=n),
                )
            )
    with transaction(sessions) as session:
        assert notices.queue_digests(session, day) == ["reviewer_digest:o:2026-12-02"]
    with transaction(sessions) as session:
        assert notices.queue_digests(session, day) == []  # the same day again: none
        assert notices.queue_digests(session, day + timedelta(days=1)) == ["reviewer_digest:o:2026-12-03"]
    digest = stored(sessions)[0]
    assert digest.to_address == "rita@school.example, ravi@school.example"
    assert digest.subject == "Proctoring reviews waiting on 2026-12-02: 2"
    assert digest.body.splitlines()[2:4] == [
        "- Widget engineering / Final exam: ready since 2026-12-01 09:00 UTC (task task-0)",
        "- Widget engineering / Final exam: ready since 2026-12-01 09:01 UTC (task task-1)",
    ]
    assert "Review them at {public_url}/review/tasks" in digest.body
    assert "Ada" not in digest.body and "ada.lovelace" not in digest.body
