"""The quiz ProctorFree returns the learner to after "confirm and start" (the organisation's LMS
return URL points here), its marking, and the result: reported to ProctorFlow with
`POST /attempts/{id}/exam-result`, as any LMS reports its quiz."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from demo_lms import quiz
from demo_lms.learners import DemoLearner
from demo_lms.proctorflow_api import ProctorFlowApi
from demo_lms.rendering import Refusal, page, signed_in
from demo_lms.words import LEARNER_DONE

router = APIRouter(include_in_schema=False)


@router.get("/attempts/{attempt_id}/quiz", response_class=HTMLResponse)
async def quiz_page(request: Request, attempt_id: str, learner: DemoLearner = Depends(signed_in)):
    attempt, course = await _attempt_of(request, attempt_id, learner)
    if attempt["exam"] is not None:
        return _result_page(request, attempt, course)
    _check_open(attempt)
    return _quiz_page(request, attempt, course)


@router.post("/attempts/{attempt_id}/quiz", response_model=None)
async def submit_quiz(
    request: Request, attempt_id: str, learner: DemoLearner = Depends(signed_in)
) -> Response:
    attempt, course = await _attempt_of(request, attempt_id, learner)
    if attempt["exam"] is None:  # submitting again only shows the stored result
        _check_open(attempt)
        answers = {key: str(value) for key, value in (await request.form()).items()}
        if quiz.unanswered(answers):
            return _quiz_page(request, attempt, course, answers, status_code=422)
        marked = quiz.mark(answers)
        api: ProctorFlowApi = request.app.state.api
        await api.record_exam_result(attempt_id, marked.score, marked.passed)
    return RedirectResponse(f"/attempts/{attempt_id}/quiz", status_code=303)


async def _attempt_of(
    request: Request, attempt_id: str, learner: DemoLearner
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The attempt and its course, when the attempt is the signed-in learner's."""
    api: ProctorFlowApi = request.app.state.api
    attempt = await api.attempt(attempt_id)
    if attempt["learner_id"] != learner.id:
        whose = f"attempt {attempt_id} is not {learner.name}'s"
        raise Refusal(404, f"{whose}: switch to the learner who opened it")
    return attempt, await api.course(attempt["course_id"])


def _check_open(attempt: dict[str, Any]) -> None:
    if attempt["vendor_session_id"] is None:
        raise Refusal(409, "set up proctoring first: press “Set up Proctoring” on the lesson page")
    if attempt["status"] in ("completed", "expired"):
        raise Refusal(409, f"this attempt is {attempt['status']}: its quiz is closed")


def _lesson_of(attempt: dict[str, Any], course: dict[str, Any]) -> dict[str, Any]:
    return next(
        (lesson for lesson in course["lessons"] if lesson["id"] == attempt["lesson_id"]),
        {"id": attempt["lesson_id"], "title": attempt["lesson_id"]},
    )


def _quiz_page(
    request: Request,
    attempt: dict[str, Any],
    course: dict[str, Any],
    answers: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    answers = answers or {}
    context = {
        "attempt": attempt,
        "course": course,
        "lesson": _lesson_of(attempt, course),
        "content": quiz.LESSON_CONTENT,
        "questions": quiz.QUESTIONS,
        "answers": answers,
        "unanswered": quiz.unanswered(answers) if status_code != 200 else [],
        "pass_mark": quiz.PASS_MARK,
        "action": f"/attempts/{attempt['attempt_id']}/quiz",
    }
    return page(request, "quiz.html", context, status_code)


def _result_page(request: Request, attempt: dict[str, Any], course: dict[str, Any]) -> HTMLResponse:
    context = {
        "attempt": attempt,
        "course": course,
        "lesson": _lesson_of(attempt, course),
        "learner_done": attempt["status"] in LEARNER_DONE,
        "window_url": proctorfree_window(attempt.get("setup_url")),
    }
    return page(request, "result.html", context)


def proctorfree_window(setup_url: str | None) -> str | None:
    """The ProctorFree window (camera, FINISH) beside the set-up pages. The real one is ProctorFree's
    desktop app; the emulator serves it at `/s/{session}/window`, next to `/s/{session}/setup`."""
    if not setup_url or not setup_url.endswith("/setup"):
        return None
    return setup_url.removesuffix("/setup") + "/window"
