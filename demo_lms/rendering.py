"""How the demo LMS answers: Jinja2 pages, and every refusal as a message page with its 4xx status
and ProctorFlow's own words (never a JSON error, never a 5xx for something the visitor did)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from demo_lms.learners import COOKIE, CookieSigner, DemoLearner
from demo_lms.proctorflow_api import ApiRefused, ApiUnavailable
from demo_lms.words import describe, lesson_words

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
templates.env.globals.update(describe=describe, lesson_words=lesson_words, quote=lambda v: quote(v, safe=""))

TITLES = {404: "Not found", 409: "Not possible", 422: "Please check the details"}


def page(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    learner = getattr(request.state, "learner", None)
    return templates.TemplateResponse(request, name, {"learner": learner, **context}, status_code=status_code)


def message(request: Request, status_code: int, title: str, text: str) -> HTMLResponse:
    return page(request, "message.html", {"title": title, "message": text}, status_code)


class Refusal(Exception):
    """The demo LMS's own refusal (ProctorFlow's come as ApiRefused): its status and what to do."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


class NotSignedIn(Exception):
    """The page needs a learner: the visitor picks one first and comes back."""


def signed_in(request: Request) -> DemoLearner:
    """The dependency of every learner page."""
    signer: CookieSigner = request.app.state.signer
    learner = signer.learner_in(request.cookies.get(COOKIE))
    if learner is None:
        raise NotSignedIn()
    request.state.learner = learner
    return learner


def install(app: FastAPI) -> None:
    @app.exception_handler(NotSignedIn)
    async def pick_a_learner(request: Request, _: NotSignedIn) -> Response:
        back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/who?next={quote(back, safe='')}", status_code=303)

    @app.exception_handler(Refusal)
    async def refusal(request: Request, exc: Refusal) -> Response:
        return message(request, exc.status, TITLES.get(exc.status, "This cannot be done"), exc.message)

    @app.exception_handler(ApiRefused)
    async def refused(request: Request, exc: ApiRefused) -> Response:
        title = TITLES.get(exc.status, "This cannot be done")
        return message(request, exc.status, title, f"ProctorFlow says: {exc.message}")

    @app.exception_handler(ApiUnavailable)
    async def unavailable(request: Request, exc: ApiUnavailable) -> Response:
        text = f"The proctoring service is busy or restarting ({exc}). Reload this page in a moment."
        return message(request, 503, "Please try again shortly", text)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        fields = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}" for e in exc.errors())
        return message(request, 422, "Please check the details", f"This link is not valid: {fields}")
