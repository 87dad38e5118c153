"""The learner demo: the LMS's proctored lesson page, the way to ProctorFree, the quiz ProctorFree
returns the learner to, and the attempt's status in words.

Every load of a lesson page opens the attempt ("Proctoring will be checked and confirmed every time
the page loads"): a reload shows the same attempt, a retake is the next attempt number.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import select

from models.api import ExamResultIn, LearnerIn, OpenAttemptIn
from models.statuses import LEARNER_DONE, TERMINAL, AttemptStatus
from models.tables import Attempt, Course, Lesson
from proctorflow.errors import Conflict
from starter.attempts import open_attempt
from starter.signals import get_attempt, record_exam_result
from store import catalog, results, scoped
from store.catalog import DEFAULT_ORG
from store.db import SessionFactory
from web.learn import quiz
from web.learn.rendering import PageRoute, page
from web.learn.visitor import Visitor, visitor
from web.services import Services, services

router = APIRouter(route_class=PageRoute, include_in_schema=False)

S = AttemptStatus
PREFIX = "/learn"  # where web.app mounts this router; ProctorFree's return_url points under it


@dataclass(frozen=True)
class AttemptView:
    attempt: Attempt
    lesson: Lesson
    course: Course


def lesson_path(course_id: str, lesson_id: str) -> str:
    return f"{PREFIX}/courses/{quote(course_id, safe='')}/lessons/{quote(lesson_id, safe='')}"


def attempt_path(attempt_id: str, tail: str = "") -> str:
    return f"{PREFIX}/attempts/{quote(attempt_id, safe='')}{tail}"


# --- The index: courses and their proctored lessons ----------------------------------------


@router.get("/", response_class=HTMLResponse)
async def index(request: Request, who: Visitor = Depends(visitor), svc: Services = Depends(services)):
    courses = await asyncio.to_thread(_proctored_catalog, svc.sessions)
    context = {"courses": courses, "who": who, "lesson_path": lesson_path}
    return page(request, "index.html", context)


@router.post("/learner", response_model=None)
async def choose_learner(
    learner_id: str = Form(), name: str = Form(), email: str = Form(), attempt: int = Form(1, ge=1, le=10000)
) -> Response:
    """The index's form: checked now, so a mistyped e-mail is caught before any lesson opens."""
    learner = LearnerIn(id=learner_id, name=name, email=email)
    response = RedirectResponse(f"{PREFIX}/?attempt={attempt}", status_code=303)
    Visitor(learner.id, learner.name, learner.email, attempt).remember(response)
    return response


# --- The lesson page, opened on every load -------------------------------------------------


@router.get("/courses/{course_id}/lessons/{lesson_id}", response_class=HTMLResponse)
async def lesson_page(
    request: Request,
    course_id: str,
    lesson_id: str,
    who: Visitor = Depends(visitor),
    svc: Services = Depends(services),
):
    learner = LearnerIn(id=who.learner_id, name=who.name, email=who.email)
    body = OpenAttemptIn(
        course_id=course_id, lesson_id=lesson_id, learner=learner, attempt_number=who.attempt
    )
    opened = await open_attempt(svc.temporal, svc.sessions, svc.settings, DEFAULT_ORG, body)
    view = await asyncio.to_thread(_attempt_view, svc.sessions, opened.attempt_id)
    status = S(view.attempt.status)
    retake = view.lesson.allows_retakes and status in LEARNER_DONE
    context = {
        "view": view,
        "who": who,
        "opened": opened,
        "stage": _lesson_stage(status),
        "exam_url": attempt_path(opened.attempt_id, "/exam"),
        "status_url": attempt_path(opened.attempt_id),
        "retake_url": f"{lesson_path(course_id, lesson_id)}?attempt={who.attempt + 1}" if retake else None,
    }
    response = page(request, "lesson.html", context)
    who.remember(response)  # the LMS knows its signed-in learner on the next page too
    return response


def _lesson_stage(status: AttemptStatus) -> str:
    if status in LEARNER_DONE:
        return "done"
    if status == S.IN_PROGRESS:
        return "in_progress"
    return "setup"  # also `error`: the words say it is on hold; setup works once a session exists


# --- "Set up Proctoring": on to ProctorFree once the workflow has opened the session --------


@router.get("/attempts/{attempt_id}/setup", response_model=None)
async def set_up_proctoring(request: Request, attempt_id: str, svc: Services = Depends(services)) -> Response:
    attempt = await asyncio.to_thread(get_attempt, svc.sessions, DEFAULT_ORG, attempt_id)
    if S(attempt.status) in LEARNER_DONE:
        return RedirectResponse(attempt_path(attempt_id), status_code=303)
    if attempt.setup_url:
        return RedirectResponse(attempt.setup_url, status_code=303)
    # The workflow is still asking ProctorFree for a session: wait here, never an error.
    refresh = 5 if S(attempt.status) == S.ERROR else 1
    return page(request, "preparing.html", {"attempt": attempt, "refresh": refresh})


# --- The exam: where "CONFIRM AND START PROCTORED SESSION" lands ----------------------------


@router.get("/attempts/{attempt_id}/exam", response_class=HTMLResponse)
async def exam(request: Request, attempt_id: str, svc: Services = Depends(services)):
    view = await asyncio.to_thread(_attempt_view, svc.sessions, attempt_id)
    if view.attempt.exam_passed is not None:
        return _result_page(request, view)
    _check_exam_open(view.attempt)
    return _quiz_page(request, view)


@router.post("/attempts/{attempt_id}/exam", response_model=None)
async def submit_exam(request: Request, attempt_id: str, svc: Services = Depends(services)) -> Response:
    view = await asyncio.to_thread(_attempt_view, svc.sessions, attempt_id)
    if view.attempt.exam_passed is None:  # submitting again only shows the stored result
        _check_exam_open(view.attempt)
        answers = {key: str(value) for key, value in (await request.form()).items()}
        if quiz.unanswered(answers):
            return _quiz_page(request, view, answers, status_code=422)
        marked = quiz.mark(answers)
        # The demo page is the LMS here: it reports its quiz's result, as POST /exam-result would.
        result = ExamResultIn(score=marked.score, passed=marked.passed)
        await record_exam_result(svc.temporal, svc.sessions, DEFAULT_ORG, attempt_id, result)
    return RedirectResponse(attempt_path(attempt_id, "/exam"), status_code=303)


def _check_exam_open(attempt: Attempt) -> None:
    if attempt.vendor_session_id is None:
        raise Conflict("set up proctoring first: press “Set up Proctoring” on the lesson page")
    if S(attempt.status) in TERMINAL:
        raise Conflict(f"this attempt is {attempt.status}: its exam is closed")


def _quiz_page(
    request: Request, view: AttemptView, answers: dict[str, str] | None = None, status_code: int = 200
) -> HTMLResponse:
    answers = answers or {}
    context = {
        "view": view,
        "content": quiz.LESSON_CONTENT,
        "questions": quiz.QUESTIONS,
        "answers": answers,
        "unanswered": quiz.unanswered(answers) if status_code != 200 else [],
        "pass_mark": quiz.PASS_MARK,
        "action": attempt_path(view.attempt.id, "/exam"),
    }
    return page(request, "exam.html", context, status_code)


def _result_page(request: Request, view: AttemptView) -> HTMLResponse:
    context = {
        "view": view,
        "learner_done": S(view.attempt.status) in LEARNER_DONE,
        "window_url": proctorfree_window(view.attempt),
        "status_url": attempt_path(view.attempt.id),
    }
    return page(request, "result.html", context)


def proctorfree_window(attempt: Attempt) -> str | None:
    """The ProctorFree window (camera, FINISH) of the attempt's session, beside its setup page."""
    if not attempt.setup_url or not attempt.vendor_session_id:
        return None
    vendor_base = attempt.setup_url.split("/s/", 1)[0]
    return f"{vendor_base}/s/{quote(attempt.vendor_session_id, safe='')}/window"


# --- The attempt's status, for the demo ----------------------------------------------------


@router.get("/attempts/{attempt_id}", response_class=HTMLResponse)
async def attempt_status(request: Request, attempt_id: str, svc: Services = Depends(services)):
    view = await asyncio.to_thread(_attempt_view, svc.sessions, attempt_id)
    progress = await asyncio.to_thread(_progress, svc.sessions, view.attempt)
    lesson_row = next((row for row in progress.lessons if row.lesson_id == view.lesson.id), None)
    context = {
        "view": view,
        "progress": progress,
        "lesson_row": lesson_row,
        "refresh": None if S(view.attempt.status) in TERMINAL else 2,
        "exam_url": attempt_path(attempt_id, "/exam"),
    }
    return page(request, "status.html", context)


# --- Reads ---------------------------------------------------------------------------------


def _proctored_catalog(sessions: SessionFactory) -> list[tuple[Course, list[Lesson]]]:
    with sessions() as session:
        courses = session.exec(select(Course).where(Course.org_id == DEFAULT_ORG).order_by(Course.id))
        listed = []
        for course in courses:
            lessons = catalog.lessons_of(session, DEFAULT_ORG, course.id)
            proctored = [lesson for lesson in lessons if lesson.integration_id is not None]
            if proctored:
                listed.append((course, proctored))
        return listed


def _attempt_view(sessions: SessionFactory, attempt_id: str) -> AttemptView:
    with sessions() as session:
        attempt = scoped.attempt(session, DEFAULT_ORG, attempt_id)
        lesson = scoped.lesson(session, DEFAULT_ORG, attempt.course_id, attempt.lesson_id)
        course = scoped.course(session, DEFAULT_ORG, attempt.course_id)
        return AttemptView(attempt, lesson, course)


def _progress(sessions: SessionFactory, attempt: Attempt) -> results.Progress:
    with sessions() as session:
        return results.read_progress(session, DEFAULT_ORG, attempt.course_id, attempt.learner_id)
