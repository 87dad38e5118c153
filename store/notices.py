"""E-mail notices, queued in the transaction of what they tell (an outbox, like the events'):
the learner's "submitted" and "decided", the escalation contact's "escalated", the reviewers'
daily digest. `workflows/notices.py` sends them, one workflow per notice.

Each notice's id is its key (`models.notices.notice_key`): the attempt and the kind (and the
step's number for an escalation; the organisation and the day for a digest). The same key twice
is ignored, so a step written again (a retried write, a rewritten step) never queues a second
notice. The notice is rendered when it is queued, from the organisation's own template for its
kind or the built-in wording of its locale: its subject and body are what will be sent. Personal
data (the learner's name and address) is read here from the Learner table and goes into the
notice's row and the e-mail only: never into a workflow's payload (which carries the notice's
id), a log line or an event.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from models import notices as words
from models.settings import NoticeKind, SettingsOut
from models.statuses import ReviewState, StepEvent
from models.tables import Attempt, Course, Learner, Lesson, Notice, OrgSettings, ReviewTask, utcnow
from proctorflow.scrub import scrub
from store import settings as org_settings

log = logging.getLogger("proctorflow.notices")

PENDING, SENT, FAILED = "pending", "sent", "failed"
ERROR_CHARS = 300


# --- Queueing ----------------------------------------------------------------------------------


def queue(
    session: Session,
    org_id: str,
    kind: NoticeKind,
    key: str,
    to_address: str,
    context: Mapping[str, Any],
    settings: SettingsOut | None = None,
) -> bool:
    """Render the organisation's template for `kind` with `context` and queue the notice in this
    transaction; False when a notice with this key exists already (it is never queued twice)."""
    settings = settings or org_settings.read(session, org_id)
    own = settings.templates.get(kind)
    template = (
        words.Wording(own.subject, own.body) if own is not None else words.built_in(kind, settings.locale)
    )
    values = {"sender_name": settings.sender_name, **context}
    row = {
        "id": key,
        "org_id": org_id,
        "kind": kind,
        "to_address": to_address,
        "subject": words.subject_line(words.fill(template.subject, values)),
        "body": words.fill(template.body, values),
        "state": PENDING,
        "tries": 0,
        "created_at": utcnow(),
    }
    dialect = session.get_bind().dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(Notice)
    # RETURNING, not rowcount: an ORM session's INSERT answers rowcount -1 on PostgreSQL.
    inserted = session.execute(
        insert.values(**row).on_conflict_do_nothing(index_elements=["id"]).returning(Notice.id)
    )
    return inserted.first() is not None


def on_step(
    session: Session, attempt: Attempt, event: str, detail: Mapping[str, Any], seq: int, at: datetime
) -> None:
    """What a step of the attempt's story tells by e-mail (called by `store.records` as each
    step is written): the learner on `learner_finished` and `decided`, when the organisation
    asked for it; the escalation contact on `escalated`, when it has one."""
    if event not in (StepEvent.LEARNER_FINISHED, StepEvent.DECIDED, StepEvent.ESCALATED):
        return
    try:
        settings = org_settings.read(session, attempt.org_id)
    except ValueError:  # stored settings that no longer validate: the step is written all the same
        log.warning("organisation %s: its settings do not validate; no e-mail queued", attempt.org_id)
        return
    wanted = settings.notifications
    if event == StepEvent.LEARNER_FINISHED and wanted.learner_submitted:
        _tell_learner(session, attempt, "learner_submitted", {}, settings)
    elif event == StepEvent.DECIDED and wanted.learner_decided:
        decision = words.decision_words(str(detail.get("decision")), settings.locale)
        _tell_learner(session, attempt, "learner_decided", {"decision": decision}, settings)
    elif event == StepEvent.ESCALATED and settings.escalation_email:
        task = session.exec(select(ReviewTask).where(ReviewTask.attempt_id == attempt.id)).first()
        context = {
            **_attempt_context(session, attempt),
            "why": words.escalation_words(str(detail.get("why")), settings.locale),
            "due_at": words.when(task.due_at if task else None),
            "task_url": words.task_path(task.id) if task else words.review_path(),
        }
        key = words.notice_key("escalation", attempt.id, seq)
        queue(session, attempt.org_id, "escalation", key, settings.escalation_email, context, settings)


def _tell_learner(
    session: Session, attempt: Attempt, kind: NoticeKind, more: dict[str, Any], settings: SettingsOut
) -> None:
    learner = session.get(Learner, (attempt.org_id, attempt.learner_id))
    if learner is None or not learner.email:
        return
    context = {**_attempt_context(session, attempt), "learner_name": learner.name, **more}
    key = words.notice_key(kind, attempt.id)
    queue(session, attempt.org_id, kind, key, learner.email, context, settings)


def _attempt_context(session: Session, attempt: Attempt) -> dict[str, Any]:
    course = session.get(Course, (attempt.org_id, attempt.course_id))
    lesson = session.get(Lesson, (attempt.org_id, attempt.course_id, attempt.lesson_id))
    return {
        "attempt_id": attempt.id,
        "course_title": course.title if course else attempt.course_id,
        "lesson_title": lesson.title if lesson else attempt.lesson_id,
    }


# --- The reviewers' digest ---------------------------------------------------------------------


def queue_digests(session: Session, day: date) -> list[str]:
    """One `reviewer_digest` per organisation that wants it (and has recipients and tasks ready
    for review), to all its recipients, keyed by the day: a day never gets two. The ids queued."""
    queued = []
    for org_id in session.exec(select(OrgSettings.org_id).order_by(col(OrgSettings.org_id))):
        try:
            settings = org_settings.read(session, org_id)
        except ValueError:
            log.warning("organisation %s: its settings do not validate; no digest", org_id)
            continue
        wanted = settings.notifications
        if not (wanted.reviewer_digest and wanted.digest_recipients):
            continue
        tasks = ready_tasks(session, org_id)
        if not tasks:
            continue
        key = words.notice_key("reviewer_digest", org_id, day.isoformat())
        context = {
            "date": day.isoformat(),
            "count": len(tasks),
            "tasks": words.digest_list(tasks, settings.locale),
            "review_url": words.review_path(),
        }
        recipients = ", ".join(str(address) for address in wanted.digest_recipients)
        if queue(session, org_id, "reviewer_digest", key, recipients, context, settings):
            queued.append(key)
    return queued


def ready_tasks(session: Session, org_id: str) -> list[dict[str, str]]:
    """The organisation's tasks ready for review, oldest first: ids, titles, since when. No
    learner's name or id."""
    rows = session.exec(
        select(ReviewTask, Course.title, Lesson.title)
        .join(
            Course, (Course.org_id == ReviewTask.org_id) & (Course.id == ReviewTask.course_id), isouter=True
        )
        .join(
            Lesson,
            (Lesson.org_id == ReviewTask.org_id)
            & (Lesson.course_id == ReviewTask.course_id)
            & (Lesson.id == ReviewTask.lesson_id),
            isouter=True,
        )
        .where(ReviewTask.org_id == org_id, ReviewTask.state == ReviewState.READY_FOR_REVIEW)
        .order_by(col(ReviewTask.ready_at), col(ReviewTask.id))
    ).all()
    return [
        {
            "task_id": task.id,
            "course_title": course_title or task.course_id,
            "lesson_title": lesson_title or task.lesson_id,
            "ready_at": words.when(task.ready_at),
        }
        for task, course_title, lesson_title in rows
    ]


# --- Sending ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outgoing:
    """What one try sends, read from the database."""

    id: str
    to_address: str
    subject: str
    body: str
    sender_name: str
    locale: str


def pending_ids(session: Session, limit: int = 50_000) -> list[str]:
    return list(
        session.exec(
            select(Notice.id).where(Notice.state == PENDING).order_by(col(Notice.created_at)).limit(limit)
        )
    )


def count_pending(session: Session) -> int:
    return len(pending_ids(session))


def claim_try(session: Session, notice_id: str) -> Outgoing | None:
    """Count a try of a notice that is still pending, and what it sends; None when it is sent or
    failed already (a try after the one that sent it sends nothing)."""
    claimed = session.execute(
        update(Notice).where(Notice.id == notice_id, Notice.state == PENDING).values(tries=Notice.tries + 1)
    )
    if not claimed.rowcount:
        return None
    notice = session.get(Notice, notice_id)
    assert notice is not None
    try:
        settings = org_settings.read(session, notice.org_id)
        sender_name, locale = settings.sender_name, settings.locale
    except ValueError:
        sender_name, locale = SettingsOut().sender_name, SettingsOut().locale
    return Outgoing(notice.id, notice.to_address, notice.subject, notice.body, sender_name, locale)


def mark_sent(session: Session, notice_id: str, at: datetime, note: str | None = None) -> None:
    """The SMTP server accepted it (`note`: recipients it refused, when it took some only)."""
    session.execute(
        update(Notice)
        .where(Notice.id == notice_id, Notice.state == PENDING)
        .values(state=SENT, sent_at=at, last_error=scrub(note, ERROR_CHARS) if note else None)
    )


def record_failure(session: Session, notice_id: str, error: str) -> None:
    """A try that failed: why, scrubbed (an SMTP reply may quote the address)."""
    session.execute(
        update(Notice)
        .where(Notice.id == notice_id, Notice.state == PENDING)
        .values(last_error=scrub(error, ERROR_CHARS))
    )


def give_up(session: Session, notice_id: str, reason: str) -> None:
    """Not sent for good (refused for good, or not accepted through the whole window)."""
    session.execute(
        update(Notice)
        .where(Notice.id == notice_id, Notice.state == PENDING)
        .values(state=FAILED, last_error=scrub(reason, ERROR_CHARS))
    )


# --- Ops ----------------------------------------------------------------------------------------


def listing(session: Session, org_id: str | None = None, state: str | None = None, limit: int = 100):
    """Notices, newest first."""
    query = select(Notice)
    if org_id is not None:
        query = query.where(Notice.org_id == org_id)
    if state is not None:
        query = query.where(Notice.state == state)
    return list(session.exec(query.order_by(col(Notice.created_at).desc()).limit(limit)))


def send_again(session: Session, notice_id: str) -> bool:
    """A failed notice pending again: the dispatcher sends it (False: no failed notice by that id)."""
    result = session.execute(
        update(Notice).where(Notice.id == notice_id, Notice.state == FAILED).values(state=PENDING)
    )
    return bool(result.rowcount)
