"""A learner's course progress, and its proctoring column changed after the fact.

The source changes a result from the course progress page ("click on the lock icon ... update
the proctoring column"), leaving course completion, success and score alone; here the change
can re-evaluate them. A lesson whose attempt still awaits a pass or fail (an optional lesson
that requires validation has no review task to decide) is decided through its workflow instead.
Manual overrides set a proctored lesson's completion, success and score, or the course's
completion, by hand (`store/overrides.py`), each kept and listed with who and why.
"""

from __future__ import annotations

from fastapi import Depends
from sqlmodel import Session

from models.api import (
    CertificateOut,
    CourseCompletionOut,
    LessonProgressOut,
    ProgressOut,
    ResultChangeOut,
    ResultChangeReply,
)
from models.overrides import (
    CourseCompletionOverrideIn,
    LessonOverrideReply,
    LessonPatchIn,
    ManualOverrideList,
    ManualOverrideOut,
)
from starter import results as results_service
from store import overrides, results
from web.api.common import CourseId, LearnerId, LessonId, api_router, read, temporal_reachable, write
from web.auth import lms_org
from web.services import Services, services

router = api_router(prefix="/courses/{course_id}/learners/{learner_id}", tags=["progress"])


@router.get("/progress", response_model=ProgressOut)
async def read_progress(
    course_id: str = CourseId,
    learner_id: str = LearnerId,
    org_id: str = Depends(lms_org),
    svc: Services = Depends(services),
) -> ProgressOut:
    def load(session: Session) -> ProgressOut:
        return progress_out(results.read_progress(session, org_id, course_id, learner_id))

    return await read(svc, load)


@router.patch("/lessons/{lesson_id}", response_model=ResultChangeReply | LessonOverrideReply)
async def change_lesson(
    body: LessonPatchIn,
    course_id: str = CourseId,
    learner_id: str = LearnerId,
    lesson_id: str = LessonId,
    org_id: str = Depends(lms_org),
    svc: Services = Depends(services),
) -> ResultChangeReply | LessonOverrideReply:
    """A changed proctoring result alone answers the change; manual overrides of a proctored
    lesson (completed, success, score), with or without one, answer the learner's progress."""
    if not body.overrides():
        async with temporal_reachable():
            return await results_service.change_proctoring_result(
                svc.temporal, svc.sessions, org_id, course_id, lesson_id, learner_id, body.result_change()
            )

    def override(session: Session) -> LessonOverrideReply:
        change = results_service.override_lesson(session, org_id, course_id, lesson_id, learner_id, body)
        progress = progress_out(results.read_progress(session, org_id, course_id, learner_id))
        return LessonOverrideReply(**dict(progress), result_change=change)

    return await write(svc, override)


@router.patch("/completion", response_model=ProgressOut)
async def override_course_completion(
    body: CourseCompletionOverrideIn,
    course_id: str = CourseId,
    learner_id: str = LearnerId,
    org_id: str = Depends(lms_org),
    svc: Services = Depends(services),
) -> ProgressOut:
    """Set or clear the learner's course completion by hand; the certificate follows it."""

    def override(session: Session) -> ProgressOut:
        overrides.override_course(session, org_id, course_id, learner_id, body)
        return progress_out(results.read_progress(session, org_id, course_id, learner_id))

    return await write(svc, override)


@router.get("/overrides", response_model=ManualOverrideList)
async def list_overrides(
    course_id: str = CourseId,
    learner_id: str = LearnerId,
    org_id: str = Depends(lms_org),
    svc: Services = Depends(services),
) -> ManualOverrideList:
    """The learner's manual overrides in the course, newest first: who, why, before and after."""

    def load(session: Session) -> ManualOverrideList:
        rows = overrides.overrides_of(session, org_id, course_id, learner_id)
        return ManualOverrideList(
            items=[ManualOverrideOut.model_validate(r, from_attributes=True) for r in rows]
        )

    return await read(svc, load)


def progress_out(progress: results.Progress) -> ProgressOut:
    return ProgressOut(
        course_id=progress.course_id,
        learner_id=progress.learner_id,
        lessons=[LessonProgressOut.model_validate(row, from_attributes=True) for row in progress.lessons],
        course=CourseCompletionOut(
            completed=progress.course_completed,
            completed_at=progress.course_completed_at,
            success=progress.course_success,
            score=progress.course_score,
        ),
        certificate=CertificateOut(id=progress.certificate_id) if progress.certificate_id else None,
        changes=[ResultChangeOut.model_validate(change, from_attributes=True) for change in progress.changes],
    )
