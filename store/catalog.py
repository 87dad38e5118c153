"""Organisations, tokens, integrations, courses, lessons and their proctoring settings."""

from __future__ import annotations

import uuid

from sqlmodel import Session, select

from models.api import CourseIn, IntegrationPatch, ProctoringIn
from models.rules import proctoring_refusal, settings_warnings
from models.tables import Course, Integration, Lesson, Organisation, utcnow
from models.time_limits import limit_warnings
from proctorflow.crypto import SecretBox
from proctorflow.errors import Invalid
from store import scoped, tokens
from store.tokens import org_for_token, token_digest  # noqa: F401 (callers know them from here)


def ensure_organisation(session: Session, org_id: str, name: str) -> Organisation:
    org = session.get(Organisation, org_id)
    if org is None:
        org = Organisation(id=org_id, name=name)
        session.add(org)
        session.flush()
    return org


DEFAULT_ORG = "default"


def ensure_default_organisation(session: Session, lms_token: str) -> None:
    """PROCTORFLOW_LMS_TOKEN is the default organisation's bootstrap token; a new value replaces
    the previous one."""
    ensure_organisation(session, DEFAULT_ORG, "Default organisation")
    tokens.replace_bootstrap(session, DEFAULT_ORG, lms_token)


def grant_token(session: Session, org_id: str, token: str, name: str = "") -> None:
    """Give the organisation this token (one the caller made), unless it has it already."""
    if org_for_token(session, token) is None:
        tokens.add(session, org_id, token, name)


# --- Integrations ---------------------------------------------------------------------------


def add_integration(
    session: Session,
    org_id: str,
    name: str,
    api_key: str,
    api_secret: str,
    is_active: bool,
    box: SecretBox,
) -> Integration:
    integration = Integration(
        id=str(uuid.uuid4()),
        org_id=org_id,
        name=name,
        api_key_encrypted=box.seal(api_key),
        api_secret_encrypted=box.seal(api_secret),
        is_active=is_active,
    )
    session.add(integration)
    session.flush()
    return integration


def list_integrations(session: Session, org_id: str) -> list[Integration]:
    return list(
        session.exec(select(Integration).where(Integration.org_id == org_id).order_by(Integration.created_at))
    )


def update_integration(
    session: Session, org_id: str, integration_id: str, patch: IntegrationPatch, box: SecretBox
) -> Integration:
    integration = scoped.integration(session, org_id, integration_id)
    if patch.name is not None:
        integration.name = patch.name
    if patch.is_active is not None:
        integration.is_active = patch.is_active
    if patch.api_key is not None:
        integration.api_key_encrypted = box.seal(patch.api_key)
    if patch.api_secret is not None:
        integration.api_secret_encrypted = box.seal(patch.api_secret)
    integration.updated_at = utcnow()
    session.add(integration)
    return integration


# --- Courses and lessons --------------------------------------------------------------------


def put_course(session: Session, org_id: str, course_id: str, body: CourseIn) -> Course:
    """The LMS's catalog for one course: lessons not listed any more are removed, and the
    proctoring settings of lessons that stay are kept."""
    lesson_ids = [lesson.id for lesson in body.lessons]
    score_lesson_id = body.settings.score_lesson_id
    if score_lesson_id is not None and score_lesson_id not in lesson_ids:
        raise Invalid(
            f"settings.score_lesson_id '{score_lesson_id}' is not one of the course's lessons",
            {"lesson_ids": lesson_ids},
        )
    course = session.get(Course, (org_id, course_id)) or Course(org_id=org_id, id=course_id, title=body.title)
    course.title = body.title
    course.score_lesson_id = score_lesson_id
    course.complete_on_failure = body.settings.complete_on_failure
    course.certificate = body.settings.certificate
    course.updated_at = utcnow()
    session.add(course)
    existing = {lesson.id: lesson for lesson in lessons_of(session, org_id, course_id)}
    for position, incoming in enumerate(body.lessons):
        lesson = existing.pop(incoming.id, None) or Lesson(
            org_id=org_id,
            course_id=course_id,
            id=incoming.id,
            title=incoming.title,
            type=incoming.type,
        )
        lesson.title, lesson.type = incoming.title, incoming.type
        lesson.required, lesson.allows_retakes, lesson.position = (
            incoming.required,
            incoming.allows_retakes,
            position,
        )
        if proctoring_refusal(lesson.type, True) is not None:
            _clear(lesson)  # a lesson that became live training cannot stay proctored
        session.add(lesson)
    for gone in existing.values():
        session.delete(gone)
    session.flush()
    return course


def lessons_of(session: Session, org_id: str, course_id: str) -> list[Lesson]:
    return list(
        session.exec(
            select(Lesson)
            .where(Lesson.org_id == org_id, Lesson.course_id == course_id)
            .order_by(Lesson.position)
        )
    )


def set_proctoring(
    session: Session, org_id: str, course_id: str, lesson_id: str, body: ProctoringIn
) -> list[str]:
    """Turn proctoring on for a lesson; returns warnings for accepted-but-misconfigured settings."""
    lesson = scoped.lesson(session, org_id, course_id, lesson_id)
    integration = scoped.integration(session, org_id, body.integration_id)
    refusal = proctoring_refusal(lesson.type, integration.is_active)
    if refusal:
        raise Invalid(refusal, {"lesson_type": lesson.type, "integration_active": integration.is_active})
    lesson.integration_id = integration.id
    lesson.instructions = body.instructions
    lesson.method = body.method
    lesson.requires_validation = body.requires_validation
    lesson.time_limit_minutes = body.time_limit_minutes
    session.add(lesson)
    return lesson_warnings(lesson)


def lesson_warnings(lesson: Lesson) -> list[str]:
    """What a proctored lesson's settings reply warns about: a plan that waits for a manual
    decision, a time limit ProctorFree will not honour."""
    method = lesson.method
    assert method is not None
    return settings_warnings(method, lesson.required, lesson.requires_validation) + limit_warnings(  # type: ignore[arg-type]
        method,  # type: ignore[arg-type]
        lesson.time_limit_minutes,
    )


def clear_proctoring(session: Session, org_id: str, course_id: str, lesson_id: str) -> None:
    lesson = scoped.lesson(session, org_id, course_id, lesson_id)
    _clear(lesson)
    session.add(lesson)


def _clear(lesson: Lesson) -> None:
    lesson.integration_id = None
    lesson.method = None
    lesson.instructions = ""
    lesson.requires_validation = False
    lesson.time_limit_minutes = None
