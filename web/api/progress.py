"""A learner's course progress, and its proctoring column changed after the fact.

The source changes a result from the course progress page ("click on the lock icon ... update
the proctoring column"), leaving course completion, success and score alone; here the change
can re-evaluate them. A lesson whose attempt still awaits a pass or fail (an optional lesson
that requires validation has no review task to decide) is decided through its workflow instead.
"""

from __future__ import annotations

from fastapi import Depends, Path
from sqlmodel import Session

from models.api import (
    CertificateOut,
    CourseCompletionOut,
    LessonProgressOut,
    ProgressOut,
    ResultChangeIn,
    ResultChangeOut,
    ResultChangeReply,
)
from models.rules import AttemptPlan
from models.statuses import DECIDED, TERMINAL, AttemptStatus
from models.tables import Attempt, CourseProgress, ResultChange, utcnow
from starter import decisions
from store import catalog, results
from web.api.common import api_router, read, temporal_reachable, write
from web.auth import lms_org
from web.services import Services, services

router = api_router(prefix="/courses/{course_id}/learners/{learner_id}", tags=["progress"])

CourseId = Path(min_length=1, max_length=200)
LearnerId = Path(min_length=1, max_length=200)
LessonId = Path(min_length=1, max_length=200)


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


@router.patch("/lessons/{lesson_id}", response_model=ResultChangeReply)
async def change_proctoring_result(
    body: ResultChangeIn,
    course_id: str = CourseId,
    learner_id: str = LearnerId,
    lesson_id: str = LessonId,
    org_id: str = Depends(lms_org),
    svc: Services = Depends(services),
) -> ResultChangeReply:
    def undecided(session: Session) -> Attempt | None:
        catalog.get_lesson(session, org_id, course_id, lesson_id)
        return attempt_awaiting_decision(
            results.latest_attempt(session, org_id, course_id, lesson_id, learner_id)
        )

    attempt = await read(svc, undecided)
    if attempt is not None:
        return await decide_through_workflow(svc, attempt, body)

    def change(session: Session) -> ResultChangeReply:
        outcome = results.change_result(
            session,
            org_id,
            course_id,
            lesson_id,
            learner_id,
            body.proctoring_result,
            body.reason,
            body.changed_by,
            body.reevaluate_course,
        )
        latest = results.latest_attempt(session, org_id, course_id, lesson_id, learner_id)
        return ResultChangeReply(
            lesson_id=lesson_id,
            applied_as="change",
            previous=outcome.previous,
            new=outcome.new,
            course_reevaluated=outcome.course_reevaluated,
            course_completed=outcome.course_completed,
            attempt_status=latest.status if latest else None,
            message=outcome.message,
        )

    return await write(svc, change)


def attempt_awaiting_decision(attempt: Attempt | None) -> Attempt | None:
    if attempt is None:
        return None
    plan = AttemptPlan(attempt.method, attempt.required, attempt.requires_validation)  # type: ignore[arg-type]
    status = AttemptStatus(attempt.status)
    if plan.awaits_decision and status not in DECIDED and status not in TERMINAL:
        return attempt
    return None


async def decide_through_workflow(svc: Services, attempt: Attempt, body: ResultChangeIn) -> ResultChangeReply:
    decision = "pass" if body.proctoring_result == "passed" else "fail"
    async with temporal_reachable():
        reply = await decisions.decide_attempt(svc.temporal, attempt, decision, body.changed_by)

    def remember(session: Session) -> bool:
        # The decision's reason goes into the same trail as later changes.
        if reply.accepted:
            session.add(
                ResultChange(
                    org_id=attempt.org_id,
                    course_id=attempt.course_id,
                    lesson_id=attempt.lesson_id,
                    learner_id=attempt.learner_id,
                    previous=None,
                    new=body.proctoring_result,
                    reason=body.reason,
                    changed_by=body.changed_by,
                    reevaluated_course=True,
                    at=utcnow(),
                )
            )
        course = session.get(CourseProgress, (attempt.org_id, attempt.course_id, attempt.learner_id))
        return bool(course and course.completed_at)

    course_completed = await write(svc, remember)
    return ResultChangeReply(
        lesson_id=attempt.lesson_id,
        applied_as="decision",
        previous=None,
        new=body.proctoring_result,
        course_reevaluated=True,
        course_completed=course_completed,
        attempt_status=reply.status,
        message=reply.message,
    )


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
