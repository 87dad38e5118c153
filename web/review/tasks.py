"""The reviewer's queue of "Proctoring Review" tasks (all, mine, unassigned, overdue), one
task's page, and passing or failing.

Decisions go to the attempt's workflow (an Update through `starter.decisions`), so what the page
says afterwards is what happened; a refusal (not audited yet, already decided the other way,
claimed by another reviewer) is shown on the page with the workflow's reason. Claiming is in
`web.review.claims`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, Form, Path, Query, Request, Response
from fastapi.responses import RedirectResponse
from sqlmodel import Session

from models.payloads import DecisionReply
from models.rules import Decision, decision_refusal
from models.tables import Course, Reviewer, utcnow
from proctorflow.errors import Conflict, Invalid, Refused
from starter import decisions
from web.api.common import read, temporal_reachable
from web.review.auth import posting_reviewer, review_router, signed_in
from web.review.claim_view import ClaimView, load_claim
from web.review.once import form_token, submissions
from web.review.pages import ROOT, render, sentence, task_url
from web.review.reads import (
    PAGE_SIZE,
    SHOWS,
    STATE_LABELS,
    VIEW_NOTES,
    VIEWS,
    QueueRow,
    TaskView,
    courses_of,
    load_queue,
    load_selected,
    load_task,
    overdue,
    parse_filters,
    view_counts,
)
from web.services import services_of

router = review_router()

MAX_BULK = 200  # four pages' worth: enough for any selection, small enough to answer promptly
BULK_CONCURRENCY = 8
DECISIONS: dict[Decision, str] = {"pass": "Pass Proctoring", "fail": "Fail Proctoring"}
VERBS: dict[Decision, str] = {"pass": "Pass", "fail": "Fail"}
# How the workflow answers one verdict of the two a second review needs (workflows/review_ops.py).
SECOND_REVIEW_REPLIES = ("first review recorded", "the reviewers disagree")
FORMS = ("claim", "release", "assign", "decision")  # the task page's acting forms (`web.review.once`)


def _check_decision(decision: str) -> None:
    """An unknown decision is refused with the rules' reason, before anything is read."""
    refusal = decision_refusal(decision, previous=None, not_ready=None)
    if refusal is not None:
        raise Invalid(refusal)


def task_id_path() -> Any:
    return Path(min_length=1, max_length=200)  # an instance per route: FastAPI keeps state on it


@router.get("/tasks")
async def task_list(
    request: Request,
    show: str = Query("open", max_length=20),
    state: str = Query("", max_length=40),
    course: str = Query("", max_length=200),
    page: int = Query(1, ge=1, le=1_000_000),
    view: str = Query("", max_length=20),
    reviewer: Reviewer = Depends(signed_in),
) -> Response:
    filters = parse_filters(show, state, course, view)
    me = reviewer.username

    def load(session: Session) -> tuple[list[QueueRow], int, list[Course], dict[str, int]]:
        rows, total = load_queue(session, reviewer.org_id, filters, page, me)
        counts = view_counts(session, reviewer.org_id, filters, me)
        return rows, total, courses_of(session, reviewer.org_id), counts

    rows, total, courses, counts = await read(services_of(request), load)
    pages = max(1, -(-total // PAGE_SIZE))
    now = utcnow()
    title = SHOWS[filters.show] + (f": {VIEWS[filters.view].lower()}" if filters.view else "")
    context = {
        "title": title,
        "rows": rows,
        "total": total,
        "page": page,
        "pages": pages,
        "first": (page - 1) * PAGE_SIZE + 1,
        "filters": filters,
        "courses": courses,
        "shows": SHOWS,
        "states": STATE_LABELS,
        "views": VIEWS,
        "view_note": VIEW_NOTES[filters.view],
        "counts": counts,
        "me": me,
        "now": now,
        "overdue": lambda task: overdue(task, now),
    }
    return render(request, "tasks.html", context)


# --- One task ---------------------------------------------------------------------------------


async def task_page(
    request: Request,
    org_id: str,
    task_id: str,
    error: str | None = None,
    status: int = 200,
    claim_error: str | None = None,
) -> Response:
    """The task, who holds it, and its forms; `error`: a decision refused, `claim_error`: a
    claim, release or assignment refused."""
    me = request.state.reviewer.username  # every caller has a signed-in reviewer

    def load(session: Session) -> tuple[TaskView, ClaimView]:
        view = load_task(session, org_id, task_id)
        return view, load_claim(session, org_id, view.task, me)

    view, claim = await read(services_of(request), load)
    context = {
        "title": "Proctoring Review",
        "view": view,
        "claim": claim,
        "me": me,
        "states": STATE_LABELS,
        "error": error,
        "claim_error": claim_error,
        "once": {form: form_token() for form in FORMS},
        "overdue": overdue(view.task),
    }
    return render(request, "task.html", context, status=status)


@router.get("/tasks/{task_id}")
async def show_task(
    request: Request, task_id: str = task_id_path(), reviewer: Reviewer = Depends(signed_in)
) -> Response:
    return await task_page(request, reviewer.org_id, task_id)


@router.post("/tasks/{task_id}/decision")
async def decide(
    request: Request,
    task_id: str = task_id_path(),
    decision: str = Form("", max_length=10),
    reviewed: str = Form("", max_length=10),
    once: str = Form("", max_length=100),
    reviewer: Reviewer = Depends(posting_reviewer),
) -> Response:
    """Pass or fail the proctoring, once the reviewer confirms having reviewed the session. A
    claimed task is decided by its holder: anyone else is told so, in the workflow's words."""
    _check_decision(decision)
    if not reviewed:
        error = f"Tick “I have reviewed the session” before choosing “{DECISIONS[decision]}”."
        return await task_page(request, reviewer.org_id, task_id, error, status=422)
    svc = services_of(request)

    async def work() -> DecisionReply | str:
        try:
            async with temporal_reachable():
                return await decisions.decide_task(
                    svc.temporal,
                    svc.sessions,
                    reviewer.org_id,
                    task_id,
                    decision,
                    reviewer.username,
                    source="ui",
                )
        except Conflict as refused:
            return _refusal(refused)

    # Kept apart from the claim forms' tokens (`web.review.claims`): each form's outcome its own.
    outcome = await submissions(request).once(reviewer.id, once and f"decision:{once}", work)
    if isinstance(outcome, str):
        return await task_page(request, reviewer.org_id, task_id, outcome, status=409)
    request.state.review.say("info", decided_message(outcome))
    return RedirectResponse(task_url(task_id), 303)


def decided_message(reply: DecisionReply) -> str:
    """What a decision did, as a sentence: "Proctoring passed; lesson completed." or, for one
    verdict of a second review, what happens next ("First review recorded: …")."""
    if reply.message.startswith(SECOND_REVIEW_REPLIES):
        return sentence(reply.message)
    return f"Proctoring {reply.message}."


def _refusal(refused: Refused) -> str:
    message = refused.message
    return "Not decided: " + message[:1].lower() + message[1:] + ("" if message.endswith(".") else ".")


# --- Many tasks at once -----------------------------------------------------------------------


@dataclass(frozen=True)
class BulkOutcome:
    row: QueueRow
    done: bool
    message: str


@router.post("/tasks/bulk")
async def decide_selected(
    request: Request,
    task_ids: list[str] = Form([]),
    decision: str = Form("", max_length=10),
    confirmed: str = Form("", max_length=10),
    reviewer: Reviewer = Depends(posting_reviewer),
) -> Response:
    """Pass or fail the selected tasks: first a confirmation page listing them, then a page
    saying what happened to each."""
    _check_decision(decision)
    if not task_ids:
        request.state.review.say("error", "Select at least one task ready for review, then choose an action.")
        return RedirectResponse(f"{ROOT}/tasks", 303)
    if len(task_ids) > MAX_BULK:
        raise Invalid(f"select at most {MAX_BULK} tasks at once; {len(task_ids)} were selected")
    rows = await read(services_of(request), lambda session: load_selected(session, reviewer.org_id, task_ids))
    verb = VERBS[decision]
    context = {"rows": rows, "decision": decision, "verb": verb, "states": STATE_LABELS}
    if not confirmed:
        return render(
            request, "bulk_confirm.html", {**context, "title": f"{verb} {len(rows)} selected tasks?"}
        )
    outcomes = await _decide_each(request, reviewer, rows, decision)
    title = f"{verb} selected: {sum(o.done for o in outcomes)} of {len(outcomes)} decided"
    return render(request, "bulk_result.html", {**context, "outcomes": outcomes, "title": title})


async def _decide_each(
    request: Request, reviewer: Reviewer, rows: list[QueueRow], decision: str
) -> list[BulkOutcome]:
    svc = services_of(request)
    gate = asyncio.Semaphore(BULK_CONCURRENCY)

    async def one(row: QueueRow) -> BulkOutcome:
        async with gate:
            try:
                async with temporal_reachable():
                    reply = await decisions.decide_task(
                        svc.temporal,
                        svc.sessions,
                        reviewer.org_id,
                        row.task.id,
                        decision,
                        reviewer.username,
                        source="ui: bulk",
                    )
            except Refused as refused:
                return BulkOutcome(row, False, _refusal(refused))
            return BulkOutcome(row, reply.accepted, decided_message(reply))

    return list(await asyncio.gather(*(one(row) for row in rows)))
