"""The LMS's catalog, one course at a time, and each lesson's proctoring settings.

"Proctoring can be added to any lesson type except for Live Training lessons and Examity
lessons", and only with an active integration; a practice lesson that is required or requires
validation is accepted with warnings, since completion would then wait for a manual decision.
"""

from __future__ import annotations

from fastapi import Depends, Response
from sqlmodel import Session

from models.api import (
    CourseIn,
    CourseOut,
    CourseSettingsOut,
    LessonOut,
    LessonProctoringOut,
    ProctoringIn,
    ProctoringOut,
)
from models.tables import Course, Lesson
from store import catalog, scoped
from web.api.common import CourseId, LessonId, api_router, read, write
from web.auth import lms_org
from web.services import Services, services

router = api_router(prefix="/courses", tags=["catalog"])


@router.put("/{course_id}", response_model=CourseOut)
async def put_course(
    body: CourseIn,
    course_id: str = CourseId,
    org_id: str = Depends(lms_org),
    svc: Services = Depends(services),
) -> CourseOut:
    """Create or replace the course; lessons that stay keep their proctoring settings."""

    def store(session: Session) -> CourseOut:
        proctored_before = {
            lesson.id for lesson in catalog.lessons_of(session, org_id, course_id) if lesson.method
        }
        course = catalog.put_course(session, org_id, course_id, body)
        return course_out(session, course, proctored_before)

    return await write(svc, store)


@router.get("/{course_id}", response_model=CourseOut)
async def get_course(
    course_id: str = CourseId, org_id: str = Depends(lms_org), svc: Services = Depends(services)
) -> CourseOut:
    def load(session: Session) -> CourseOut:
        return course_out(session, scoped.course(session, org_id, course_id))

    return await read(svc, load)


@router.put("/{course_id}/lessons/{lesson_id}/proctoring", response_model=ProctoringOut)
async def set_proctoring(
    body: ProctoringIn,
    course_id: str = CourseId,
    lesson_id: str = LessonId,
    org_id: str = Depends(lms_org),
    svc: Services = Depends(services),
) -> ProctoringOut:
    warnings = await write(
        svc, lambda session: catalog.set_proctoring(session, org_id, course_id, lesson_id, body)
    )
    return ProctoringOut(
        course_id=course_id,
        lesson_id=lesson_id,
        integration_id=body.integration_id,
        instructions=body.instructions,
        method=body.method,
        requires_validation=body.requires_validation,
        time_limit_minutes=body.time_limit_minutes,
        warnings=warnings,
    )


@router.delete("/{course_id}/lessons/{lesson_id}/proctoring", status_code=204)
async def clear_proctoring(
    course_id: str = CourseId,
    lesson_id: str = LessonId,
    org_id: str = Depends(lms_org),
    svc: Services = Depends(services),
) -> Response:
    """New attempts of the lesson are no longer proctored; attempts already running go on."""
    await write(svc, lambda session: catalog.clear_proctoring(session, org_id, course_id, lesson_id))
    return Response(status_code=204)


def course_out(session: Session, course: Course, proctored_before: set[str] | None = None) -> CourseOut:
    lessons = catalog.lessons_of(session, course.org_id, course.id)
    return CourseOut(
        id=course.id,
        title=course.title,
        settings=CourseSettingsOut(
            score_lesson_id=course.score_lesson_id,
            complete_on_failure=course.complete_on_failure,
            certificate=course.certificate,
        ),
        lessons=[lesson_out(lesson, proctored_before or set()) for lesson in lessons],
        updated_at=course.updated_at,
    )


def lesson_out(lesson: Lesson, proctored_before: set[str]) -> LessonOut:
    proctoring = None
    warnings: list[str] = []
    if lesson.integration_id is not None and lesson.method is not None:
        proctoring = LessonProctoringOut(
            integration_id=lesson.integration_id,
            instructions=lesson.instructions,
            method=lesson.method,  # type: ignore[arg-type]
            requires_validation=lesson.requires_validation,
            time_limit_minutes=lesson.time_limit_minutes,
        )
        warnings = catalog.lesson_warnings(lesson)
    elif lesson.id in proctored_before:
        warnings = [f"proctoring was removed: lessons of type '{lesson.type}' cannot be proctored"]
    return LessonOut(
        id=lesson.id,
        title=lesson.title,
        type=lesson.type,
        required=lesson.required,
        allows_retakes=lesson.allows_retakes,
        proctoring=proctoring,
        warnings=warnings,
    )
