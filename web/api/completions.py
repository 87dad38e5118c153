"""The LMS reports the lessons ProctorFlow does not proctor, one by one or as a backlog, so a
course whose last required lesson is one of them completes by its rules (`store/reports.py`)."""

from __future__ import annotations

from fastapi import Depends
from sqlmodel import Session

from models.reports import (
    BulkCompletionResult,
    BulkCompletionsIn,
    BulkCompletionsOut,
    ItemError,
    LessonCompletionIn,
    LessonCompletionOut,
)
from proctorflow.errors import Refused
from store import reports, scoped
from web.api.common import CourseId, LearnerId, LessonId, api_router, read, write
from web.auth import lms_org
from web.services import Services, services

router = api_router(prefix="/courses/{course_id}", tags=["progress"])


@router.put("/learners/{learner_id}/lessons/{lesson_id}/completion", response_model=LessonCompletionOut)
async def report_completion(
    body: LessonCompletionIn,
    course_id: str = CourseId,
    learner_id: str = LearnerId,
    lesson_id: str = LessonId,
    org_id: str = Depends(lms_org),
    svc: Services = Depends(services),
) -> LessonCompletionOut:
    """A lesson ProctorFlow does not proctor, completed in the LMS (409 for a proctored one)."""
    return await write(
        svc,
        lambda session: reports.report_completion(session, org_id, course_id, learner_id, lesson_id, body),
    )


@router.post("/completions", response_model=BulkCompletionsOut)
async def report_completions(
    body: BulkCompletionsIn,
    course_id: str = CourseId,
    org_id: str = Depends(lms_org),
    svc: Services = Depends(services),
) -> BulkCompletionsOut:
    """A backlog: each item as the single call would take it, in its own transaction, so one
    refused item leaves the others done; the reply says what became of each."""
    await read(svc, lambda session: scoped.course(session, org_id, course_id))  # an unknown course: 404
    results = []
    for item in body.items:
        report = LessonCompletionIn.model_validate(item.model_dump(exclude={"learner_id", "lesson_id"}))

        def one(session: Session, item=item, report=report) -> LessonCompletionOut:
            return reports.report_completion(
                session, org_id, course_id, item.learner_id, item.lesson_id, report
            )

        try:
            done = await write(svc, one)
        except Refused as refused:
            error = ItemError(code=refused.code, message=refused.message)
            results.append(BulkCompletionResult(**_ids(item), status=refused.status, error=error))
        else:
            results.append(BulkCompletionResult(**_ids(item), status=200, result=done))
    applied = [r.result.applied for r in results if r.result is not None]
    return BulkCompletionsOut(
        results=results,
        completed=applied.count("completed"),
        unchanged=len(applied) - applied.count("completed"),
        refused=sum(r.error is not None for r in results),
    )


def _ids(item) -> dict[str, str]:
    return {"learner_id": item.learner_id, "lesson_id": item.lesson_id}
