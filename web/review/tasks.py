"""The reviewer's queue of "Proctoring Review" tasks, one task's page, and passing or failing.

Decisions go to the attempt's workflow (an Update through `starter.decisions`), so what the page
says afterwards is what happened; a refusal (not audited yet, already decided the other way) is
shown on the page with the workflow's reason.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, Form, Path, Query, Request, Response
from fastapi.responses import RedirectResponse
from sqlmodel import Session

from models.rules import Decision, decision_refusal
from models.tables import Course, Reviewer
from proctorflow.errors import Conflict, Invalid, Refused
from starter import decisions
from web.api.common import read, temporal_reachable
from web.review.auth import posting_reviewer, review_router, signed_in
from web.review.pages import ROOT, render, task_url
from web.review.reads import (
    PAGE_SIZE,
    SHOWS,
    STATE_LABELS,
    QueueRow,
    courses_of,
    load_queue,
    load_selected,
    load_task,
    parse_filters,
)
from web.services import services_of

router = review_router()

MAX_BULK = 200  # four pages' worth: enough for any selection, small enough to answer promptly
BULK_CONCURRENCY = 8
DECISIONS: dict[Decision, str] = {"pass": "Pass Proctoring", "fail": "Fail Proctoring"}
VERBS: dict[Decision, str] = {"pass": "Pass", "fail": "Fail"}


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
    reviewer: Reviewer = Depends(signed_in),
) -> Response:
    filters = parse_filters(show, state, course)

    def load(session: Session) -> tuple[list[QueueRow], int, list[Course]]:
        rows, total = load_queue(session, reviewer.org_id, filters, page)
        return rows, total, courses_of(session, reviewer.org_id)

    rows, total, courses = await read(services_of(request), load)
    pages = max(1, -(-total // PAGE_SIZE))
    context = {
        "title": SHOWS[filters.show],
        "rows": rows,
        "total": total,
        "page": page,
        "pages": pages,
        "first": (page - 1) * PAGE_SIZE + 1,
        "filters": filters,
        "courses": courses,
        "shows": SHOWS,
        "states": STATE_LABELS,
    }
    return render(request, "tasks.html", context)


# --- One task ---------------------------------------------------------------------------------


async def task_page(
    request: Request, org_id: str, task_id: str, error: str | None = None, status: int = 200
) -> Response:
    view = await read(services_of(request), lambda session: load_task(session, org_id, task_id))
    context = {"title": "Proctoring Review", "view": view, "states": STATE_LABELS, "error": error}
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
    reviewer: Reviewer = Depends(posting_reviewer),
) -> Response:
    """Pass or fail the proctoring, once the reviewer confirms having reviewed the session."""
    _check_decision(decision)
    if not reviewed:
        error = f"Tick “I have reviewed the session” before choosing “{DECISIONS[decision]}”."
        return await task_page(request, reviewer.org_id, task_id, error, status=422)
    try:
        async with temporal_reachable():
            reply = await decisions.decide_task(
                services_of(request).temporal,
                services_of(request).sessions,
                reviewer.org_id,
                task_id,
                decision,
                reviewer.username,
            )
    except Conflict as refused:
        return await task_page(request, reviewer.org_id, task_id, _refusal(refused), status=409)
    request.state.review.say("info", f"Proctoring {reply.message}.")
    return RedirectResponse(task_url(task_id), 303)


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
                        svc.temporal, svc.sessions, reviewer.org_id, row.task.id, decision, reviewer.username
                    )
            except Refused as refused:
                return BulkOutcome(row, False, _refusal(refused))
            return BulkOutcome(row, reply.accepted, f"Proctoring {reply.message}.")

    return list(await asyncio.gather(*(one(row) for row in rows)))
