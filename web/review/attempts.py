"""One attempt's page with the staff actions: reset, void, resume, ask ProctorFree now, and add
time to the learner's running session, each with a reason kept in the attempt's story.

They go where the LMS's API sends them (`starter.staff`: an Update of the attempt's workflow, or
the database for an attempt that has ended); a refusal (the attempt is voided already, not in
the session, over ProctorFree's cap) is shown on the page in its words. Done, the page is loaded
again with what happened said once. A form sent twice acts once (`web.review.once`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, Form, Path, Request, Response
from fastapi.responses import RedirectResponse

from models.payloads import ExtendRequest, StaffActionRequest
from models.tables import Reviewer
from models.time_limits import MAX_EXTEND_MINUTES
from proctorflow.errors import Conflict, Invalid
from starter import staff
from web.api.common import read, temporal_reachable
from web.review.attempt_view import ACTIONS, changed_since, load_attempt
from web.review.auth import posting_reviewer, review_router, signed_in
from web.review.once import form_token, submissions
from web.review.pages import attempt_url, render, sentence
from web.review.reads import STATE_LABELS
from web.review.reasons import reason_problem
from web.services import services_of

router = review_router()

MAX_REASON = 1000  # as the workflow's Updates take it
LABELS = {
    "reset": "Reset attempt",
    "void": "Void attempt",
    "resume": "Resume",
    "check_now": "Ask ProctorFree now",
    "extend": "Add time",
}
NOT_DONE = {
    "reset": "Not reset",
    "void": "Not voided",
    "resume": "Not resumed",
    "check_now": "ProctorFree was not asked",
    "extend": "No time added",
}


@dataclass(frozen=True)
class Refusal:
    """A form that was not acted on: which, why, and what it held."""

    form: str
    message: str
    reason: str = ""
    minutes: str = ""


@dataclass(frozen=True)
class Done:
    message: str


def attempt_id_path() -> Any:
    return Path(min_length=1, max_length=200)


async def attempt_page(
    request: Request, org_id: str, attempt_id: str, refusal: Refusal | None = None, status: int = 200
) -> Response:
    view = await read(services_of(request), lambda session: load_attempt(session, org_id, attempt_id))
    attempt = view.attempt
    context = {
        "title": f"Attempt {attempt.attempt_number}: {view.learner_name or attempt.learner_id}",
        "view": view,
        "refusal": refusal,
        "labels": LABELS,
        "states": STATE_LABELS,
        "accommodation_changed": changed_since(view.accommodation, attempt.created_at),
        "once": {form: form_token() for form in LABELS},
    }
    return render(request, "attempt.html", context, status=status)


@router.get("/attempts/{attempt_id}")
async def show_attempt(
    request: Request, attempt_id: str = attempt_id_path(), reviewer: Reviewer = Depends(signed_in)
) -> Response:
    return await attempt_page(request, reviewer.org_id, attempt_id)


@router.post("/attempts/{attempt_id}/actions")
async def act(
    request: Request,
    attempt_id: str = attempt_id_path(),
    action: str = Form("", max_length=20),
    reason: str = Form("", max_length=MAX_REASON + 1000),
    once: str = Form("", max_length=100),
    reviewer: Reviewer = Depends(posting_reviewer),
) -> Response:
    if action not in ACTIONS:
        raise Invalid(f"action must be one of {', '.join(ACTIONS)}, not {action[:40]!r}")
    problem = reason_problem(reason, MAX_REASON, "in the attempt's history")
    if problem:
        return await attempt_page(request, reviewer.org_id, attempt_id, Refusal(action, problem, reason), 422)
    svc = services_of(request)
    sent = StaffActionRequest(action=action, reason=reason.strip(), by=reviewer.username)  # type: ignore[arg-type]

    async def work() -> Done | Refusal:
        try:
            async with temporal_reachable():
                reply = await staff.act(svc.temporal, svc.sessions, reviewer.org_id, attempt_id, sent)
        except Conflict as refused:
            return Refusal(action, sentence(f"{NOT_DONE[action]}: {refused.message}"), reason)
        return Done(done_message(action, reply.message))

    outcome = await submissions(request).once(reviewer.id, once, work)
    return await _answer(request, reviewer, attempt_id, outcome)


@router.post("/attempts/{attempt_id}/extend")
async def extend(
    request: Request,
    attempt_id: str = attempt_id_path(),
    minutes: str = Form("", max_length=20),
    reason: str = Form("", max_length=MAX_REASON + 1000),
    once: str = Form("", max_length=100),
    reviewer: Reviewer = Depends(posting_reviewer),
) -> Response:
    """Add minutes to the learner's running session, here and at ProctorFree."""
    problem = minutes_problem(minutes) or reason_problem(reason, MAX_REASON, "in the attempt's history")
    if problem:
        refusal = Refusal("extend", problem, reason, minutes)
        return await attempt_page(request, reviewer.org_id, attempt_id, refusal, 422)
    svc = services_of(request)
    sent = ExtendRequest(minutes=int(minutes.strip()), reason=reason.strip(), by=reviewer.username)

    async def work() -> Done | Refusal:
        try:
            async with temporal_reachable():
                reply = await staff.extend(svc.temporal, svc.sessions, reviewer.org_id, attempt_id, sent)
        except Conflict as refused:
            return Refusal("extend", sentence(f"{NOT_DONE['extend']}: {refused.message}"), reason, minutes)
        return Done(sentence(reply.message))

    outcome = await submissions(request).once(reviewer.id, once, work)
    return await _answer(request, reviewer, attempt_id, outcome)


async def _answer(request: Request, reviewer: Reviewer, attempt_id: str, outcome: Done | Refusal) -> Response:
    if isinstance(outcome, Refusal):
        return await attempt_page(request, reviewer.org_id, attempt_id, outcome, 409)
    request.state.review.say("info", outcome.message)
    return RedirectResponse(attempt_url(attempt_id), 303)


def done_message(action: str, message: str) -> str:
    """What the reply says, as a sentence about the attempt ("voided: …" → "Attempt voided: …")."""
    if action in ("reset", "void", "resume"):
        return sentence(f"attempt {message}")
    return sentence(message)


def minutes_problem(minutes: str) -> str | None:
    text = minutes.strip()
    if not re.fullmatch(r"[0-9]{1,4}", text) or not 1 <= int(text) <= MAX_EXTEND_MINUTES:
        return f"Give the minutes to add as a whole number from 1 to {MAX_EXTEND_MINUTES}."
    return None
