"""The learner- and reviewer-facing pages of the emulated vendor.

Setup runs in three steps (compatibility test, profile, attest and start) through plain links and
forms, no JavaScript; every POST redirects (303) so a reload never repeats an action. The
"ProctorFree window" the real desktop app shows during the exam is the /window page. After "confirm
and start" the learner goes to the LMS's return URL, or to /started ("you may close this window")
when the LMS gave none.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from proctorfree.emulator import limits
from proctorfree.emulator.api import emulator_state
from proctorfree.emulator.state import EmulatedSession, TransitionError

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
router = APIRouter(include_in_schema=False)

TRUTHY = {"1", "true", "on", "yes"}


class PageError(Exception):
    """Rendered as a small HTML page with the given status."""

    def __init__(self, status: int, title: str, message: str) -> None:
        super().__init__(message)
        self.status, self.title, self.message = status, title, message


def render_page_error(request: Request, exc: PageError) -> HTMLResponse:
    context = {"title": exc.title, "message": exc.message}
    return templates.TemplateResponse(request, "message.html", context, status_code=exc.status)


# --- step 1: install the app, compatibility test ----------------------------------------------


@router.get("/s/{session_id}/setup")
async def setup_page(request: Request, session_id: str, compat: str = "") -> HTMLResponse:
    session = _session(request, session_id)
    context = {"session": session, "step": 1, "compat_passed": compat == "passed"}
    return templates.TemplateResponse(request, "setup.html", context)


@router.post("/s/{session_id}/setup/compatibility")
async def run_compatibility_test(request: Request, session_id: str) -> RedirectResponse:
    _session(request, session_id)
    return _see_other(f"/s/{session_id}/setup?compat=passed")


# --- step 2: profile photo (and ID) ------------------------------------------------------------


@router.get("/s/{session_id}/profile")
async def profile_page(
    request: Request, session_id: str, photo: str = "", id_check: str = ""
) -> HTMLResponse:
    session = _session(request, session_id)
    context = {
        "session": session,
        "step": 2,
        "photo_taken": photo == "taken",
        "id_check": _id_check_on(request, id_check),
    }
    return templates.TemplateResponse(request, "profile.html", context)


@router.post("/s/{session_id}/profile")
async def take_profile_photo(request: Request, session_id: str, id_check: str = Form("")) -> RedirectResponse:
    _session(request, session_id)
    query = {"photo": "taken"} | ({"id_check": "1"} if _id_check_on(request, id_check) else {})
    return _see_other(f"/s/{session_id}/profile?{urlencode(query)}")


# --- step 3: attest, confirm and start ---------------------------------------------------------


@router.get("/s/{session_id}/start")
async def start_page(request: Request, session_id: str) -> HTMLResponse:
    session = _session(request, session_id)
    return _render_start(request, session)


@router.post("/s/{session_id}/start", response_model=None)
async def confirm_and_start(
    request: Request, session_id: str, attest: str = Form("")
) -> HTMLResponse | RedirectResponse:
    session = _session(request, session_id)
    if attest.lower() not in TRUTHY:
        error = "Please confirm the attestation before starting the session."
        return _render_start(request, session, error=error, status_code=400)
    try:
        emulator_state(request).start(session)
    except TransitionError as exc:
        raise PageError(409, "Session not available", f"This session cannot start: {exc}.") from None
    return _see_other(session.return_url or f"/s/{session_id}/started")


@router.get("/s/{session_id}/started")
async def started_page(request: Request, session_id: str) -> HTMLResponse:
    """Where a learner lands when the LMS gave no return URL: ProctorFree's own page, never the
    proctoring service's (ProctorFlow serves no learner pages)."""
    session = _session(request, session_id)
    context = {
        "title": "Proctored session started",
        "message": f"Your proctored session for “{session.exam_name}” has started. "
        "You may close this window and return to your course to take the exam; "
        "press FINISH in the ProctorFree window when you are done.",
    }
    return templates.TemplateResponse(request, "message.html", context)


def _render_start(
    request: Request, session: EmulatedSession, error: str = "", status_code: int = 200
) -> HTMLResponse:
    context = {"session": session, "step": 3, "error": error}
    return templates.TemplateResponse(request, "start.html", context, status_code=status_code)


# --- the ProctorFree window: camera, "Open exam again", support, FINISH ------------------------


@router.get("/s/{session_id}/window")
async def proctoring_window(request: Request, session_id: str, confirm: str = "") -> HTMLResponse:
    session = _session(request, session_id)
    context = {"session": session, "confirming": confirm in TRUTHY, **_limit(session)}
    return templates.TemplateResponse(request, "window.html", context)


@router.post("/s/{session_id}/finish")
async def confirm_finish(request: Request, session_id: str) -> RedirectResponse:
    session = _session(request, session_id)
    try:
        emulator_state(request).finish(session)
    except TransitionError as exc:
        raise PageError(409, "Cannot finish", f"This session cannot finish: {exc}.") from None
    return _see_other(f"/s/{session_id}/window")


@router.get("/support")
async def support_page(request: Request) -> HTMLResponse:
    context = {
        "title": "ProctorFree support",
        "message": "This is the ProctorFree emulator: there is no one to call. "
        "Close this tab and return to your proctoring window.",
    }
    return templates.TemplateResponse(request, "message.html", context)


# --- the reviewer's view -----------------------------------------------------------------------


@router.get("/review/{session_id}")
async def review_page(request: Request, session_id: str) -> HTMLResponse:
    session = _session(request, session_id)
    context = {"session": session, **_limit(session)}
    return templates.TemplateResponse(request, "review.html", context)


def _session(request: Request, session_id: str) -> EmulatedSession:
    session = emulator_state(request).find(session_id)
    if session is None:
        raise PageError(404, "Session not found", "This proctoring link is not valid.")
    return session


def _limit(session: EmulatedSession) -> dict[str, int]:
    return {
        "time_limit": limits.limit_minutes(session),
        "warning_minutes": limits.warning_minutes(session),
    }


def _id_check_on(request: Request, requested: str) -> bool:
    return requested.lower() in TRUTHY or emulator_state(request).knobs.id_check


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)
