"""A learner's course progress, with the proctoring column editable.

"If you need to change a learner's proctoring result, please use the displayed link to go to the
course progress page ... Please note that you need to manually change the course completion,
success status, and score." Here the reviewer may instead tick "Re-evaluate course completion,
success, score and certificate". Every change is kept in an audit trail shown on the page.
A lesson whose attempt still awaits a pass or fail is decided through its workflow instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Depends, Form, Path, Request, Response
from fastapi.responses import RedirectResponse
from sqlmodel import Session, col, select

from models.api import ResultChangeIn
from models.tables import Accommodation, Attempt, Learner, Reviewer
from models.text import control_character_problem
from proctorflow.errors import Conflict
from starter.results import change_proctoring_result
from store import accommodations, results, scoped
from web.api.common import read, temporal_reachable
from web.review.auth import posting_reviewer, review_router, signed_in
from web.review.pages import progress_url, render
from web.services import services_of

router = review_router()

RESULTS = {"passed": "Passed", "failed": "Failed"}
MAX_REASON = 2000


def lms_id() -> Any:
    """A path segment holding one of the LMS's ids (each parameter needs its own instance)."""
    return Path(min_length=1, max_length=200)


@dataclass(frozen=True)
class ProgressView:
    progress: results.Progress
    learner_name: str | None
    course_title: str
    lesson_titles: dict[str, str]
    attempts: list[Attempt]  # the learner's proctored attempts in the course, newest first
    accommodation: Accommodation | None


def load_progress(session: Session, org_id: str, course_id: str, learner_id: str) -> ProgressView:
    progress = results.read_progress(session, org_id, course_id, learner_id)
    learner = session.get(Learner, (org_id, learner_id))
    attempts = session.exec(
        select(Attempt)
        .where(Attempt.org_id == org_id, Attempt.course_id == course_id, Attempt.learner_id == learner_id)
        .order_by(col(Attempt.created_at).desc(), col(Attempt.attempt_number).desc())
    ).all()
    return ProgressView(
        progress=progress,
        learner_name=learner.name if learner else None,
        course_title=scoped.course(session, org_id, course_id).title,
        lesson_titles={row.lesson_id: row.title for row in progress.lessons},
        attempts=list(attempts),
        accommodation=accommodations.find(session, org_id, course_id, learner_id),
    )


@dataclass(frozen=True)
class FormState:
    """What a refused form held, shown again beside its message."""

    lesson_id: str
    message: str
    new_result: str
    reason: str
    reevaluate: bool


async def progress_page(
    request: Request,
    org_id: str,
    course_id: str,
    learner_id: str,
    refused: FormState | None = None,
    status: int = 200,
) -> Response:
    view = await read(
        services_of(request), lambda session: load_progress(session, org_id, course_id, learner_id)
    )
    title = f"Course progress: {view.course_title}"
    context = {"title": title, "view": view, "results": RESULTS, "refused": refused}
    return render(request, "progress.html", context, status=status)


@router.get("/courses/{course_id}/learners/{learner_id}")
async def show_progress(
    request: Request,
    course_id: str = lms_id(),
    learner_id: str = lms_id(),
    reviewer: Reviewer = Depends(signed_in),
) -> Response:
    return await progress_page(request, reviewer.org_id, course_id, learner_id)


@router.post("/courses/{course_id}/learners/{learner_id}/lessons/{lesson_id}/result")
async def change_result(
    request: Request,
    course_id: str = lms_id(),
    learner_id: str = lms_id(),
    lesson_id: str = lms_id(),
    new_result: str = Form("", max_length=20),
    reason: str = Form("", max_length=MAX_REASON + 1000),
    reevaluate: str = Form("", max_length=10),
    reviewer: Reviewer = Depends(posting_reviewer),
) -> Response:
    """The proctoring column of one lesson, changed with a reason."""
    problem = _problem(new_result, reason.strip())
    if problem:
        refused = FormState(lesson_id, problem, new_result, reason, bool(reevaluate))
        return await progress_page(request, reviewer.org_id, course_id, learner_id, refused, 422)
    body = ResultChangeIn(
        proctoring_result=new_result,  # type: ignore[arg-type]
        reason=reason.strip(),
        changed_by=reviewer.username,
        reevaluate_course=bool(reevaluate),
    )
    try:
        message = await _apply(request, reviewer.org_id, course_id, learner_id, lesson_id, body)
    except Conflict as conflict:
        refused = FormState(lesson_id, conflict.message, new_result, reason, bool(reevaluate))
        return await progress_page(request, reviewer.org_id, course_id, learner_id, refused, 409)
    request.state.review.say("info", message[:1].upper() + message[1:] + ".")
    return RedirectResponse(progress_url(course_id, learner_id) + "#audit-trail", 303)


def _problem(new_result: str, reason: str) -> str | None:
    if new_result not in RESULTS:
        return "Choose the new proctoring result: Passed or Failed."
    if not reason:
        return "Give a reason for the change: it is kept in the audit trail."
    if len(reason) > MAX_REASON:
        return f"Keep the reason under {MAX_REASON} characters (it has {len(reason)})."
    control = control_character_problem(reason, multiline=True)
    if control:
        return f"The reason {control}."
    return None


async def _apply(
    request: Request, org_id: str, course_id: str, learner_id: str, lesson_id: str, body: ResultChangeIn
) -> str:
    """Decide the attempt if it still awaits a decision; otherwise change the completed result."""
    svc = services_of(request)
    async with temporal_reachable():
        reply = await change_proctoring_result(
            svc.temporal, svc.sessions, org_id, course_id, lesson_id, learner_id, body
        )
    return reply.message if reply.applied_as == "change" else f"proctoring {reply.message}"
