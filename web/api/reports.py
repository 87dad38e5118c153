"""Streamed CSV exports of the organisation's attempts and review decisions, for its records
and its own reporting (`web.exports` streams them; `store.exports` reads them in batches)."""

from __future__ import annotations

from fastapi import Depends, Query
from fastapi.responses import StreamingResponse

from web.api.common import api_router
from web.auth import lms_org
from web.exports import csv_response, export_filter
from web.services import Services, services

router = api_router(prefix="/reports", tags=["reports"])

CSV_REPLY = {200: {"content": {"text/csv": {}}, "description": "The CSV file, streamed"}}


def _course() -> str | None:
    return Query(
        None,
        min_length=1,
        max_length=200,
        description="Only this course's rows; 404 when the organisation has no such course",
    )


def _from(what: str) -> str | None:
    return Query(
        None,
        alias="from",
        max_length=40,
        description=f"The first moment included, by when the {what}: an ISO date (midnight UTC) or "
        "date and time (UTC unless it gives an offset)",
    )


def _to(what: str) -> str | None:
    return Query(
        None, alias="to", max_length=40, description=f"The first moment left out, by when the {what}"
    )


@router.get("/attempts.csv", response_class=StreamingResponse, responses=CSV_REPLY)
async def attempts_csv(
    course_id: str | None = _course(),
    start: str | None = _from("attempt opened"),
    end: str | None = _to("attempt opened"),
    org_id: str = Depends(lms_org),
    svc: Services = Depends(services),
) -> StreamingResponse:
    """Every attempt, oldest first: its ids, method, status, time allowed, when it opened and
    the learner finished, the exam result, its review task's state and decision. Ids only: no
    learner's name or e-mail. 404 for a course the organisation does not have; 422 for a bad
    date, or `from` after `to`."""
    return csv_response(svc, "attempts", await export_filter(svc, org_id, course_id, start, end))


@router.get("/decisions.csv", response_class=StreamingResponse, responses=CSV_REPLY)
async def decisions_csv(
    course_id: str | None = _course(),
    start: str | None = _from("decision was made"),
    end: str | None = _to("decision was made"),
    org_id: str = Depends(lms_org),
    svc: Services = Depends(services),
) -> StreamingResponse:
    """Every review task passed or failed, earliest decision first: who decided, when it was
    ready and decided, and seconds_to_decision (ready for review to decided, whole seconds).
    404 for a course the organisation does not have; 422 for a bad date, or `from` after `to`."""
    return csv_response(svc, "decisions", await export_filter(svc, org_id, course_id, start, end))
