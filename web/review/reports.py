"""The reviewer's exports: a page to pick the course and dates, and the two CSV downloads
(the API's own streamed exports, `web.exports`, for the reviewer's organisation only)."""

from __future__ import annotations

from fastapi import Depends, Query, Request, Response
from fastapi.responses import StreamingResponse

from models.tables import Reviewer
from web.api.common import read
from web.exports import Kind, csv_response, export_filter
from web.review.auth import review_router, signed_in
from web.review.pages import render
from web.review.reads import courses_of
from web.services import services_of

router = review_router()


@router.get("/reports")
async def reports_page(request: Request, reviewer: Reviewer = Depends(signed_in)) -> Response:
    courses = await read(services_of(request), lambda session: courses_of(session, reviewer.org_id))
    return render(request, "reports.html", {"title": "Reports", "courses": courses})


async def _download(
    request: Request, kind: Kind, reviewer: Reviewer, course_id: str, start: str, end: str
) -> StreamingResponse:
    svc = services_of(request)
    wanted = await export_filter(svc, reviewer.org_id, course_id, start, end)
    return csv_response(svc, kind, wanted)


@router.get("/reports/attempts.csv")
async def attempts_csv(
    request: Request,
    course_id: str = Query("", max_length=200),
    start: str = Query("", alias="from", max_length=40),
    end: str = Query("", alias="to", max_length=40),
    reviewer: Reviewer = Depends(signed_in),
) -> StreamingResponse:
    return await _download(request, "attempts", reviewer, course_id, start, end)


@router.get("/reports/decisions.csv")
async def decisions_csv(
    request: Request,
    course_id: str = Query("", max_length=200),
    start: str = Query("", alias="from", max_length=40),
    end: str = Query("", alias="to", max_length=40),
    reviewer: Reviewer = Depends(signed_in),
) -> StreamingResponse:
    return await _download(request, "decisions", reviewer, course_id, start, end)
