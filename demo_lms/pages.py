"""The demo LMS's own pages: pick a demo learner, the course list, and a course with the
learner's lesson progress (from ProctorFlow's progress API, then live from events)."""

from __future__ import annotations

import asyncio
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from demo_lms.learners import COOKIE, LEARNERS, CookieSigner, DemoLearner, find
from demo_lms.proctorflow_api import ApiRefused, ProctorFlowApi
from demo_lms.rendering import message, page, signed_in

router = APIRouter(include_in_schema=False)


@router.get("/who", response_class=HTMLResponse)
async def pick_learner(request: Request, next: str = "/"):
    return page(request, "who.html", {"learners": LEARNERS, "next": _local(next)})


@router.post("/who", response_model=None)
async def choose_learner(request: Request, learner_id: str = Form(), next: str = Form("/")) -> Response:
    learner = find(learner_id)
    if learner is None:
        known = ", ".join(learner.id for learner in LEARNERS)
        return message(request, 422, "Please check the details", f"pick one of the demo learners: {known}")
    response = RedirectResponse(_local(next), status_code=303)
    signer: CookieSigner = request.app.state.signer
    response.set_cookie(COOKIE, signer.sign(learner), httponly=True, samesite="lax")
    return response


@router.get("/", response_class=HTMLResponse)
async def home(request: Request, learner: DemoLearner = Depends(signed_in)):
    api: ProctorFlowApi = request.app.state.api
    course_ids = request.app.state.settings.course_ids
    found = await asyncio.gather(*(_course_or_none(api, course_id) for course_id in course_ids))
    courses = [course for course in found if course is not None]
    missing = [course_id for course_id, course in zip(course_ids, found, strict=True) if course is None]
    return page(request, "home.html", {"courses": courses, "missing": missing})


@router.get("/courses/{course_id}", response_class=HTMLResponse)
async def course_page(request: Request, course_id: str, learner: DemoLearner = Depends(signed_in)):
    api: ProctorFlowApi = request.app.state.api
    course, progress = await asyncio.gather(api.course(course_id), api.progress(course_id, learner.id))
    by_lesson = {row["lesson_id"]: row for row in progress["lessons"]}
    return page(request, "course.html", {"course": course, "progress": progress, "by_lesson": by_lesson})


@router.post("/courses/{course_id}/lessons/{lesson_id}/done", response_model=None)
async def lesson_done(
    request: Request, course_id: str, lesson_id: str, learner: DemoLearner = Depends(signed_in)
) -> Response:
    """The learner finished a lesson ProctorFlow does not proctor (watched the intro): the LMS
    reports it, and ProctorFlow completes the course if it was the last required lesson."""
    api: ProctorFlowApi = request.app.state.api
    try:
        await api.report_completion(course_id, learner.id, lesson_id)
    except ApiRefused as refused:
        return message(request, refused.status, "This lesson cannot be marked done", refused.message)
    return RedirectResponse(f"/courses/{quote(course_id, safe='')}", status_code=303)


async def _course_or_none(api: ProctorFlowApi, course_id: str) -> dict | None:
    try:
        return await api.course(course_id)
    except ApiRefused:
        return None  # listed in the demo LMS's settings but not pushed to ProctorFlow (yet)


def _local(target: str) -> str:
    """Only a path of this site: `next` must never send the learner elsewhere."""
    return target if target.startswith("/") and not target.startswith(("//", "/\\")) else "/"
