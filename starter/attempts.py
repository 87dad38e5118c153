"""Opening an attempt: checked and stored first, then its workflow started idempotently.

Called on every page load of a proctored lesson. The same attempt always answers with the
same attempt id and the same workflow; two loads racing each other still make one. Once a run
has written the attempt's story its workflow is never started again: a load finds it running,
or reconciles the attempt whose run has closed (`starter.reconcile`), even after the closed run
was deleted by the namespace's retention and its workflow id is free in Temporal.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select
from temporalio.client import Client
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError

from models.api import OpenAttemptIn, OpenAttemptOut
from models.payloads import AttemptInput, AttemptKey, AttemptTimers
from models.review_ops import ReviewPolicy
from models.statuses import LEARNER_DONE, TERMINAL, AttemptStatus, StepEvent
from models.tables import Attempt, AttemptEvent, Learner, Lesson, utcnow
from models.time_limits import allowed_minutes, open_warnings
from proctorflow.errors import Conflict, Invalid
from proctorflow.settings import Settings
from proctorflow.temporal import pseudonym_keys
from starter.reconcile import reconcile, reconcile_attempt
from store import accommodations, events, scoped
from store import settings as org_settings
from store.db import SessionFactory, transaction
from store.progress import lock_learner
from workflows import search_attributes
from workflows.attempt import AttemptWorkflow


def timers_from(settings: Settings) -> AttemptTimers:
    return AttemptTimers(
        session_poll_interval=timedelta(seconds=settings.session_poll_interval),
        session_poll_max_interval=timedelta(seconds=settings.session_poll_max_interval),
        finish_window=timedelta(seconds=settings.finish_window),
        exam_result_window=timedelta(seconds=settings.exam_result_window),
        audit_poll_interval=timedelta(seconds=settings.audit_poll_interval),
        audit_deadline=timedelta(seconds=settings.audit_deadline),
    )


async def open_attempt(
    client: Client, sessions: SessionFactory, settings: Settings, org_id: str, body: OpenAttemptIn
) -> OpenAttemptOut:
    key = AttemptKey(
        org_id=org_id,
        course_id=body.course_id,
        lesson_id=body.lesson_id,
        learner_id=body.learner.id,
        attempt_number=body.attempt_number,
    )
    try:
        attempt, lesson = await asyncio.to_thread(_store_attempt, sessions, key, body)
    except PreviousAttemptOpen as refused:
        # The learner's previous attempt may be open only in the database (its workflow ended):
        # once reconciled, the retake may start.
        if not (await reconcile(client, sessions, refused.attempt_id)).changed:
            raise
        attempt, lesson = await asyncio.to_thread(_store_attempt, sessions, key, body)
    status = attempt.status
    if AttemptStatus(status) not in TERMINAL:
        status = await _run_workflow(client, sessions, settings, attempt)
    return OpenAttemptOut(
        attempt_id=attempt.id,
        status=status,
        lesson_title=lesson.title,
        instructions=lesson.instructions,
        setup_url=attempt.setup_url,  # ProctorFree's, once the workflow has opened the session
        method=attempt.method,  # type: ignore[arg-type]
        allowed_minutes=attempt.allowed_minutes,
        warnings=open_warnings(
            attempt.method,  # type: ignore[arg-type]
            lesson.time_limit_minutes,
            attempt.allowed_minutes,
            attempt.accommodated,
        ),
    )


async def _run_workflow(
    client: Client, sessions: SessionFactory, settings: Settings, attempt: Attempt
) -> str:
    """The attempt's status once its workflow runs: started if no run has written its story yet;
    else (and if a closed run is found) reconciled, never started again. A workflow id is never
    reused for a new run over an earlier run's steps."""
    if attempt.run_id is None:
        policy = await asyncio.to_thread(_policy, sessions, attempt.org_id)
        if await start_workflow(client, settings, attempt, policy):
            return attempt.status
    return (await reconcile_attempt(client, sessions, attempt)).status


def _policy(sessions: SessionFactory, org_id: str) -> ReviewPolicy:
    """The organisation's review deadline and second-review rule, as the attempt opens."""
    with sessions() as session:
        chosen = org_settings.read(session, org_id)
    return ReviewPolicy(
        sla_hours=chosen.review_sla_hours, second_review_for_flagged=chosen.second_review_for_flagged
    )


async def start_workflow(
    client: Client, settings: Settings, attempt: Attempt, policy: ReviewPolicy | None = None
) -> bool:
    """Start the attempt's workflow, or find it running; False when a closed run exists."""
    key = AttemptKey(
        org_id=attempt.org_id,
        course_id=attempt.course_id,
        lesson_id=attempt.lesson_id,
        learner_id=attempt.learner_id,
        attempt_number=attempt.attempt_number,
    )
    attempt_input = AttemptInput(
        attempt_id=attempt.id,
        key=key,
        integration_id=attempt.integration_id,
        method=attempt.method,  # type: ignore[arg-type]
        required=attempt.required,
        requires_validation=attempt.requires_validation,
        timers=timers_from(settings),
        allowed_minutes=attempt.allowed_minutes,
        review_policy=policy or ReviewPolicy(),
    )
    try:
        await client.start_workflow(
            AttemptWorkflow.run,
            attempt_input,
            id=attempt.workflow_id,
            task_queue=settings.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(search_attributes.COURSE_ID, attempt.course_id),
                    SearchAttributePair(search_attributes.LESSON_ID, attempt.lesson_id),
                    SearchAttributePair(
                        search_attributes.LEARNER_ID,
                        search_attributes.learner_pseudonym(pseudonym_keys(settings)[0], attempt.learner_id),
                    ),
                    SearchAttributePair(search_attributes.METHOD, attempt.method),
                    SearchAttributePair(search_attributes.ATTEMPT_STATUS, attempt.status),
                ]
            ),
            static_summary=(
                f"{attempt.method} proctoring: course {attempt.course_id}, lesson {attempt.lesson_id}, "
                f"learner {attempt.learner_id}, attempt {attempt.attempt_number}"
            ),
        )
    except WorkflowAlreadyStartedError:
        return False  # a run ran and closed: the stored attempt tells its end, once reconciled
    return True


def _store_attempt(sessions: SessionFactory, key: AttemptKey, body: OpenAttemptIn) -> tuple[Attempt, Lesson]:
    try:
        with transaction(sessions) as session:
            return _insert_or_confirm(session, key, body)
    except IntegrityError:
        # Another page load stored the same attempt a moment ago: confirm that one.
        with transaction(sessions) as session:
            return _insert_or_confirm(session, key, body)


def _insert_or_confirm(session: Session, key: AttemptKey, body: OpenAttemptIn) -> tuple[Attempt, Lesson]:
    lock_learner(session, key.org_id, key.learner_id)
    lesson = scoped.lesson(session, key.org_id, key.course_id, key.lesson_id)
    existing = session.get(Attempt, key.attempt_id)
    if existing is not None:
        # A reload confirms the attempt it opened, even if proctoring was turned off since.
        _remember_learner(session, key.org_id, body)
        return existing, lesson
    if lesson.integration_id is None or lesson.method is None:
        raise Conflict(f"lesson {lesson.id} is not proctored: PUT its proctoring settings first")
    _remember_learner(session, key.org_id, body)
    integration = scoped.integration(session, key.org_id, lesson.integration_id)
    if not integration.is_active:
        raise Invalid(
            f"integration '{integration.name}' is not active: activate it to proctor lesson {lesson.id}"
        )
    _check_retake(session, key, lesson)
    now = utcnow()
    accommodation = accommodations.in_force_for(
        session, key.org_id, key.course_id, key.learner_id, lesson.id, now
    )
    attempt = Attempt(
        id=key.attempt_id,
        org_id=key.org_id,
        course_id=key.course_id,
        lesson_id=key.lesson_id,
        learner_id=key.learner_id,
        attempt_number=key.attempt_number,
        workflow_id=key.workflow_id,
        integration_id=integration.id,
        method=lesson.method,
        required=lesson.required,
        requires_validation=lesson.requires_validation,
        status=AttemptStatus.CREATED,
        allowed_minutes=allowed_minutes(
            lesson.method, lesson.time_limit_minutes, accommodation, lesson.id, now
        ),  # type: ignore[arg-type]
        accommodated=accommodation is not None,
        created_at=now,
    )
    session.add(attempt)
    session.add(
        AttemptEvent(
            attempt_id=attempt.id, seq=0, at=attempt.created_at, event=StepEvent.OPENED, status=attempt.status
        )
    )
    events.tell_status(session, attempt, None, attempt.created_at)
    session.flush()
    return attempt, lesson


class PreviousAttemptOpen(Conflict):
    """A retake refused while the learner's previous attempt is open."""

    def __init__(self, attempt_id: str, message: str) -> None:
        super().__init__(message)
        self.attempt_id = attempt_id


def _check_retake(session: Session, key: AttemptKey, lesson: Lesson) -> None:
    previous = session.exec(
        select(Attempt)
        .where(
            Attempt.org_id == key.org_id,
            Attempt.course_id == key.course_id,
            Attempt.lesson_id == key.lesson_id,
            Attempt.learner_id == key.learner_id,
            # The same attempt stored by a racing page load is confirmed, not refused.
            Attempt.attempt_number != key.attempt_number,
        )
        .order_by(Attempt.attempt_number.desc())  # type: ignore[attr-defined]
    ).first()
    if previous is None:
        return
    reset_by_staff = previous.retake_granted and key.attempt_number == previous.attempt_number + 1
    if not lesson.allows_retakes and not reset_by_staff:
        raise Conflict(
            f"lesson {lesson.id} does not allow retakes: attempt {previous.attempt_number} "
            "is this learner's attempt"
        )
    if key.attempt_number < previous.attempt_number:
        raise Conflict(f"attempt numbers only grow: attempt {previous.attempt_number} exists already")
    if AttemptStatus(previous.status) not in LEARNER_DONE:
        raise PreviousAttemptOpen(
            previous.id,
            f"attempt {previous.attempt_number} is still {previous.status}: "
            "the learner must finish it before a retake",
        )


def _remember_learner(session: Session, org_id: str, body: OpenAttemptIn) -> None:
    learner = session.get(Learner, (org_id, body.learner.id))
    if learner is None:
        session.add(
            Learner(org_id=org_id, id=body.learner.id, name=body.learner.name, email=body.learner.email)
        )
    elif (learner.name, learner.email) != (body.learner.name, body.learner.email):
        learner.name, learner.email = body.learner.name, body.learner.email
        session.add(learner)
