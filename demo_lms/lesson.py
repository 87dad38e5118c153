"""The proctored lesson page. Every load opens the attempt with ProctorFlow ("proctoring will be
checked and confirmed every time the page loads"): a reload shows the same attempt, a retake is
the next attempt number. The set-up link is ProctorFree's, once ProctorFlow has it; until then
the page says it is preparing and picks the link up live."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from demo_lms.learners import DemoLearner
from demo_lms.live import Attempts
from demo_lms.proctorflow_api import ProctorFlowApi
from demo_lms.rendering import Refusal, page, signed_in
from demo_lms.words import stage

router = APIRouter(include_in_schema=False)


@router.get("/courses/{course_id}/lessons/{lesson_id}", response_class=HTMLResponse)
async def lesson_page(
    request: Request,
    course_id: str,
    lesson_id: str,
    attempt: int | None = Query(None, ge=1, le=10000, description="a retake's number; else the latest"),
    learner: DemoLearner = Depends(signed_in),
):
    api: ProctorFlowApi = request.app.state.api
    course, progress = await asyncio.gather(api.course(course_id), api.progress(course_id, learner.id))
    lesson = next((row for row in course["lessons"] if row["id"] == lesson_id), None)
    if lesson is None:
        raise Refusal(404, f"course {course_id} has no lesson {lesson_id}")
    row = next((row for row in progress["lessons"] if row["lesson_id"] == lesson_id), {})
    number = attempt or await _latest_attempt_number(api, row.get("latest_attempt_id"))
    opened = await api.open_attempt(course_id, lesson_id, learner.as_api_learner(), number)
    attempts: Attempts = request.app.state.attempts
    attempts.remember(opened, learner.id, course_id)
    now = stage(opened["status"])
    retake = None
    if lesson["allows_retakes"] and now == "done":
        retake = f"{request.url.path}?attempt={number + 1}"
    context = {
        "course": course,
        "lesson": lesson,
        "progress": progress,
        "progress_row": row,
        "opened": opened,
        "number": number,
        "stage": now,
        "retake_url": retake,
        "quiz_url": f"/attempts/{opened['attempt_id']}/quiz",
    }
    return page(request, "lesson.html", context)


async def _latest_attempt_number(api: ProctorFlowApi, latest_attempt_id: str | None) -> int:
    """The number of the learner's latest attempt at the lesson, so a reload shows it; 1 for none."""
    if not latest_attempt_id:
        return 1
    return int((await api.attempt(latest_attempt_id))["attempt_number"])
