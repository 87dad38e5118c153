"""Proctoring Review tasks: the task list, one task, and a reviewer's pass or fail.

"Not Ready: if a Dashboard user opens a task that hasn't been fully audited yet, we notify the
user that the proctoring session is not yet ready for review."
"""

from __future__ import annotations

from fastapi import Depends, Path, Query
from sqlmodel import Session

from models.api import ClaimIn, DecisionIn, ReviewTaskDetail, ReviewTaskOut, ReviewTaskPage
from models.payloads import DecisionReply
from models.review_ops import ClaimReply
from models.rules import TASK_CLOSED
from models.statuses import ReviewState
from starter import claims, decisions
from starter.claims import ClaimAction
from store import audit, queries
from web.api.common import api_router, read, temporal_reachable, write
from web.auth import lms_org
from web.services import Services, services

router = api_router(prefix="/review-tasks", tags=["review tasks"])

TaskId = Path(min_length=1, max_length=200)


@router.get("", response_model=ReviewTaskPage)
async def list_review_tasks(
    state: ReviewState | None = Query(
        None, description="not_ready, ready_for_review, passed, failed or closed (ended without a decision)"
    ),
    course_id: str | None = Query(None, min_length=1, max_length=200),
    open_only: bool | None = Query(
        None, alias="open", description="true: not completed yet; false: completed"
    ),
    limit: int = Query(50, ge=1, le=200),
    offset: int = Query(0, ge=0, le=1_000_000_000),
    org_id: str = Depends(lms_org),
    svc: Services = Depends(services),
) -> ReviewTaskPage:
    def load(session: Session) -> ReviewTaskPage:
        rows, total = queries.list_review_tasks(session, org_id, state, course_id, open_only, limit, offset)
        return ReviewTaskPage(items=[task_out(row) for row in rows], total=total, limit=limit, offset=offset)

    return await read(svc, load)


@router.get("/{task_id}", response_model=ReviewTaskDetail)
async def get_review_task(
    task_id: str = TaskId, org_id: str = Depends(lms_org), svc: Services = Depends(services)
) -> ReviewTaskDetail:
    row = await read(svc, lambda session: queries.get_review_task(session, org_id, task_id))
    return ReviewTaskDetail(
        **task_out(row).model_dump(), attempt_status=row.attempt.status, notice=notice_for(row)
    )


@router.post("/{task_id}/claim", response_model=ClaimReply)
async def claim_task(
    body: ClaimIn, task_id: str = TaskId, org_id: str = Depends(lms_org), svc: Services = Depends(services)
) -> ClaimReply:
    """The reviewer holds the ready task until they decide, release it, or the organisation's
    claim timeout passes; 409 when another reviewer holds it, saying who."""
    return await _claim(svc, org_id, task_id, "claim", body)


@router.post("/{task_id}/release", response_model=ClaimReply)
async def release_task(
    body: ClaimIn, task_id: str = TaskId, org_id: str = Depends(lms_org), svc: Services = Depends(services)
) -> ClaimReply:
    """The holder lets the task go; 409 from anyone else."""
    return await _claim(svc, org_id, task_id, "release", body)


@router.post("/{task_id}/assign", response_model=ClaimReply)
async def assign_task(
    body: ClaimIn, task_id: str = TaskId, org_id: str = Depends(lms_org), svc: Services = Depends(services)
) -> ClaimReply:
    """Give the task to a reviewer, from whoever holds it (`by`: who assigns)."""
    return await _claim(svc, org_id, task_id, "assign", body)


async def _claim(svc: Services, org_id: str, task_id: str, action: ClaimAction, body: ClaimIn) -> ClaimReply:
    async with temporal_reachable():
        reply = await claims.change_claim(
            svc.temporal, svc.sessions, org_id, task_id, action, body.reviewer, body.by
        )
    await write(svc, lambda session: audit_claim(session, org_id, task_id, action, body))
    return reply


AUDITED = {
    "claim": "review_task.claimed",
    "release": "review_task.released",
    "assign": "review_task.assigned",
}


def audit_claim(session: Session, org_id: str, task_id: str, action: ClaimAction, body: ClaimIn) -> None:
    """As the calling token (its address), in the name of who assigns or claims."""
    detail = {"reviewer": body.reviewer}
    audit.record_acting(
        session,
        org_id,
        AUDITED[action],
        audit.path("review-tasks", task_id),
        detail,
        body.by or body.reviewer,
    )


@router.post("/{task_id}/decision", response_model=DecisionReply)
async def decide(
    body: DecisionIn,
    task_id: str = TaskId,
    org_id: str = Depends(lms_org),
    svc: Services = Depends(services),
) -> DecisionReply:
    """Pass or fail the proctoring: completes the task, the lesson, and the course when this was
    its last required lesson. 409 while ProctorFree is still auditing, for a task closed without a
    decision, and for an attempt whose workflow has closed (it is reconciled: the reply says why)."""
    async with temporal_reachable():
        return await decisions.decide_task(
            svc.temporal, svc.sessions, org_id, task_id, body.decision, body.reviewer
        )


def notice_for(row: queries.TaskRow) -> str:
    task = row.task
    if task.state == ReviewState.NOT_READY:
        return (
            "Not ready for review: ProctorFree has not finished auditing this proctoring session. "
            "It usually does within 24 hours; the task becomes ready for review then."
        )
    if task.state == ReviewState.READY_FOR_REVIEW:
        flagged = " ProctorFree flagged it, or its audit did not arrive in time." if task.flagged else ""
        return f"Ready for review: open the session in ProctorFree (review_url), then pass or fail.{flagged}"
    if task.state == ReviewState.CLOSED:
        return (
            f"Closed: {TASK_CLOSED}. To set a proctoring result, PATCH "
            f"/api/v1/courses/{task.course_id}/learners/{task.learner_id}/lessons/{task.lesson_id}."
        )
    return (
        f"Completed: proctoring {task.state} by {task.decided_by or 'a reviewer'}. To change the result, "
        f"PATCH /api/v1/courses/{task.course_id}/learners/{task.learner_id}/lessons/{task.lesson_id}."
    )


def task_out(row: queries.TaskRow) -> ReviewTaskOut:
    task = row.task
    return ReviewTaskOut(
        id=task.id,
        type=task.type,
        attempt_id=task.attempt_id,
        course_id=task.course_id,
        lesson_id=task.lesson_id,
        learner_id=task.learner_id,
        method=task.method,  # type: ignore[arg-type]
        state=task.state,
        flagged=task.flagged,
        audit_outcome=task.audit_outcome,
        created_at=task.created_at,
        ready_at=task.ready_at,
        completed_at=task.completed_at,
        decided_by=task.decided_by,
        review_url=row.attempt.review_url,
        accommodated=row.attempt.accommodated,
        allowed_minutes=row.attempt.allowed_minutes,
        assignee=task.assignee,
        claimed_at=task.claimed_at,
        due_at=task.due_at,
        priority=task.priority,
        reviews=task.reviews or [],
    )
