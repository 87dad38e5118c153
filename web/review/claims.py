"""Claiming review tasks from the task page: claim a ready task (or renew one's own claim),
release it, or assign it to a reviewer of the organisation (`web.review.claim_view` says what
the page shows about them).

Each change goes to the attempt's workflow (`starter.claims`, an Update) exactly as the API's
do, and is written to the organisation's audit log as theirs are (source "ui"). A refusal
(another reviewer holds it, the task is not ready) is shown on the task page in the workflow's
words. A form sent twice acts once (`web.review.once`).
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Depends, Form, Request, Response
from fastapi.responses import RedirectResponse
from sqlmodel import Session, select

from models.tables import Reviewer
from proctorflow.errors import Conflict
from starter import claims
from starter.claims import ClaimAction
from store import audit
from web.api.common import read, temporal_reachable, write
from web.api.review_tasks import AUDITED  # the audit log's names for the API's claims
from web.review.auth import posting_reviewer, review_router
from web.review.once import submissions
from web.review.pages import sentence, task_url
from web.review.tasks import task_id_path, task_page
from web.services import services_of

router = review_router()

NOT_DONE: dict[ClaimAction, str] = {
    "claim": "Not claimed",
    "release": "Not released",
    "assign": "Not assigned",
}


@dataclass(frozen=True)
class Done:
    message: str


@dataclass(frozen=True)
class NotDone:
    message: str


@router.post("/tasks/{task_id}/claim")
async def claim(
    request: Request,
    task_id: str = task_id_path(),
    once: str = Form("", max_length=100),
    reviewer: Reviewer = Depends(posting_reviewer),
) -> Response:
    """Hold the ready task (or renew one's own claim) until deciding it, releasing it, or the
    organisation's claim timeout."""
    return await _change(request, reviewer, task_id, "claim", reviewer.username, once)


@router.post("/tasks/{task_id}/release")
async def release(
    request: Request,
    task_id: str = task_id_path(),
    once: str = Form("", max_length=100),
    reviewer: Reviewer = Depends(posting_reviewer),
) -> Response:
    """Let one's own claim go: any reviewer may claim the task then."""
    return await _change(request, reviewer, task_id, "release", reviewer.username, once)


@router.post("/tasks/{task_id}/assign")
async def assign(
    request: Request,
    task_id: str = task_id_path(),
    assignee: str = Form("", max_length=200),
    once: str = Form("", max_length=100),
    reviewer: Reviewer = Depends(posting_reviewer),
) -> Response:
    """Give the task to a reviewer of the organisation (oneself included), from whoever holds it."""
    chosen = assignee.strip()

    def of_the_organisation(session: Session) -> str | None:
        statement = select(Reviewer.username).where(
            Reviewer.org_id == reviewer.org_id, Reviewer.username == chosen
        )
        return session.exec(statement).first()

    if not chosen or await read(services_of(request), of_the_organisation) is None:
        problem = "Not assigned: choose a reviewer of your organisation from the list."
        return await task_page(request, reviewer.org_id, task_id, claim_error=problem, status=422)
    return await _change(request, reviewer, task_id, "assign", chosen, once)


async def _change(
    request: Request, reviewer: Reviewer, task_id: str, action: ClaimAction, holder: str, once: str
) -> Response:
    svc = services_of(request)
    me = reviewer.username

    async def work() -> Done | NotDone:
        try:
            async with temporal_reachable():
                reply = await claims.change_claim(
                    svc.temporal, svc.sessions, reviewer.org_id, task_id, action, holder, by=me
                )
        except Conflict as refused:
            return NotDone(sentence(f"{NOT_DONE[action]}: {refused.message}"))
        await write(svc, lambda session: _audit(session, reviewer.org_id, task_id, action, holder, me))
        return Done(_done_message(action, reply.message))

    # A token is one form's: kept per action, so a token sent to another form never answers it.
    outcome = await submissions(request).once(reviewer.id, once and f"{action}:{once}", work)
    if isinstance(outcome, NotDone):
        return await task_page(request, reviewer.org_id, task_id, claim_error=outcome.message, status=409)
    request.state.review.say("info", outcome.message)
    return RedirectResponse(task_url(task_id), 303)


def _audit(session: Session, org_id: str, task_id: str, action: ClaimAction, holder: str, me: str) -> None:
    """As the API writes it: who acted, on which task, for which reviewer."""
    audit.record(session, org_id, me, "reviewer", AUDITED[action], task_id, "ui", {"reviewer": holder})


def _done_message(action: ClaimAction, message: str) -> str:
    """The workflow's reply as a sentence ("Claimed: held by ana until 14:05 UTC unless decided.")."""
    if action == "claim":
        return sentence(f"claimed: {message}")
    return sentence(message)
