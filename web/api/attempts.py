"""Proctored attempts: "lesson opened" on every page load, the quiz result, and one attempt's
status and history. Replies name the learner by id only, never by name or e-mail."""

from __future__ import annotations

from fastapi import Depends, Path
from sqlmodel import Session

from models.api import (
    AttemptEventOut,
    AttemptOut,
    ExamResultAccepted,
    ExamResultIn,
    ExamResultOut,
    OpenAttemptIn,
    OpenAttemptOut,
    ReviewTaskSummary,
)
from models.payloads import ExtendReply, ExtendRequest, StaffActionReply, StaffActionRequest
from models.staff import ExtendIn, StaffActionIn
from models.statuses import AttemptStatus
from models.tables import Attempt
from starter import attempts, signals, staff
from store import queries
from web.api.common import api_router, read, temporal_reachable
from web.auth import lms_org
from web.services import Services, services

router = api_router(prefix="/attempts", tags=["attempts"])

AttemptId = Path(min_length=1, max_length=200, description="From POST /attempts/open")


@router.post("/open", response_model=OpenAttemptOut)
async def open_attempt(
    body: OpenAttemptIn, org_id: str = Depends(lms_org), svc: Services = Depends(services)
) -> OpenAttemptOut:
    """Called on every page load of a proctored lesson: the same attempt answers the same."""
    async with temporal_reachable():
        return await attempts.open_attempt(svc.temporal, svc.sessions, svc.settings, org_id, body)


@router.post("/{attempt_id}/extend", response_model=ExtendReply)
async def extend_session(
    body: ExtendIn,
    attempt_id: str = AttemptId,
    org_id: str = Depends(lms_org),
    svc: Services = Depends(services),
) -> ExtendReply:
    """Add minutes to the learner's running session (here and at ProctorFree); 409, saying
    why, when the learner is not in the session or ProctorFree's cap would be passed."""
    request = ExtendRequest(minutes=body.minutes, reason=body.reason, by=body.by)
    async with temporal_reachable():
        return await staff.extend(svc.temporal, svc.sessions, org_id, attempt_id, request)


@router.post("/{attempt_id}/actions", response_model=StaffActionReply)
async def staff_action(
    body: StaffActionIn,
    attempt_id: str = AttemptId,
    org_id: str = Depends(lms_org),
    svc: Services = Depends(services),
) -> StaffActionReply:
    """reset, void, resume or check_now, with a reason kept in the attempt's history and an
    `attempt.staff_action` event; 409, saying why, when it does not apply to the attempt now."""
    request = StaffActionRequest(action=body.action, reason=body.reason, by=body.by)
    async with temporal_reachable():
        return await staff.act(svc.temporal, svc.sessions, org_id, attempt_id, request)


@router.post("/{attempt_id}/exam-result", status_code=202, response_model=ExamResultAccepted)
async def record_exam_result(
    body: ExamResultIn,
    attempt_id: str = AttemptId,
    org_id: str = Depends(lms_org),
    svc: Services = Depends(services),
) -> ExamResultAccepted:
    """The quiz result; the attempt's workflow takes it from here (202: it acts on it shortly).
    409 when it can no longer count, saying why: the attempt expired, completed without a result,
    or has a different one; nothing is stored then."""
    async with temporal_reachable():
        attempt = await signals.record_exam_result(svc.temporal, svc.sessions, org_id, attempt_id, body)
    return ExamResultAccepted(
        attempt_id=attempt.id,
        status=attempt.status,
        exam=ExamResultOut(score=attempt.exam_score, passed=bool(attempt.exam_passed)),
        message=_what_happens_next(attempt),
    )


@router.get("/{attempt_id}", response_model=AttemptOut)
async def get_attempt(
    attempt_id: str = AttemptId, org_id: str = Depends(lms_org), svc: Services = Depends(services)
) -> AttemptOut:
    def load(session: Session) -> AttemptOut:
        return attempt_out(queries.attempt_story(session, org_id, attempt_id))

    return await read(svc, load)


def _what_happens_next(attempt: Attempt) -> str:
    if attempt.status == AttemptStatus.COMPLETED:
        return "exam result recorded already: the attempt is complete"
    if not attempt.requires_validation:
        return "exam result recorded: the lesson completes once the learner has finished proctoring"
    return "exam result recorded: the lesson completes when a reviewer passes or fails the proctoring"


def attempt_out(story: queries.AttemptStory) -> AttemptOut:
    attempt, task = story.attempt, story.task
    exam = None
    if attempt.exam_passed is not None:
        exam = ExamResultOut(score=attempt.exam_score, passed=attempt.exam_passed)
    summary = None
    if task is not None:
        summary = ReviewTaskSummary(
            id=task.id,
            state=task.state,
            flagged=task.flagged,
            completed_at=task.completed_at,
            decided_by=task.decided_by,
        )
    return AttemptOut(
        attempt_id=attempt.id,
        status=AttemptStatus(attempt.status),
        method=attempt.method,  # type: ignore[arg-type]
        course_id=attempt.course_id,
        lesson_id=attempt.lesson_id,
        learner_id=attempt.learner_id,
        attempt_number=attempt.attempt_number,
        required=attempt.required,
        requires_validation=attempt.requires_validation,
        vendor_session_id=attempt.vendor_session_id,
        setup_url=attempt.setup_url,
        error_reason=attempt.error_reason,
        allowed_minutes=attempt.allowed_minutes,
        accommodated=attempt.accommodated,
        retake_granted=attempt.retake_granted,
        exam=exam,
        review_task=summary,
        created_at=attempt.created_at,
        updated_at=attempt.updated_at,
        events=[
            AttemptEventOut(seq=e.seq, event=e.event, status=e.status, at=e.at, detail=e.detail)
            for e in story.events
        ],
    )
