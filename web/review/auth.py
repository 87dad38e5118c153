"""Who is reviewing: a signed session cookie, a CSRF token per session, login and logout.

The cookie carries the reviewer's id, the session's CSRF token, its expiry and one-shot
messages, signed with HMAC-SHA256 under a key derived from the app's secret key (so it cannot
be forged or stretched). It is HttpOnly, SameSite=Lax, scoped to /review and expires after
eight hours. Every form carries the session's CSRF token and every POST is checked against it,
the login form included (an anonymous session has a token too).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Depends, Form, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute

from models.tables import Reviewer
from proctorflow.crypto import DEV_KEY_FILE, load_or_create_key
from proctorflow.errors import Refused
from proctorflow.settings import Settings
from store import reviewers
from web.review.pages import ROOT, message_page, render
from web.services import services_of

COOKIE = "proctorflow_review"
LIFETIME_SECONDS = 8 * 3600
HOME = f"{ROOT}/tasks"


class LoginRequired(Exception):
    """The page needs a signed-in reviewer: answered with a redirect to the login page."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


class CsrfRefused(Refused):
    status = 403
    code = "forbidden"


# --- The session ------------------------------------------------------------------------------


@dataclass
class ReviewSession:
    reviewer_id: str | None = None
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    expires: int = field(default_factory=lambda: int(time.time()) + LIFETIME_SECONDS)
    flash: list[list[str]] = field(default_factory=list)
    changed: bool = True  # a new or changed session is written back to the cookie

    def say(self, kind: str, text: str) -> None:
        """Leave a message for the next page ("info" or "error")."""
        self.flash.append([kind, text])
        self.changed = True

    def take_flash(self) -> list[list[str]]:
        taken, self.flash = self.flash, []
        self.changed = self.changed or bool(taken)
        return taken


def signing_key(settings: Settings) -> bytes:
    """Derived from the app's secret key, so the vendor-credential key is never used directly."""
    secret = settings.secret_key or load_or_create_key(DEV_KEY_FILE)
    return hmac.new(secret.encode(), b"proctorflow reviewer session v1", hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode_session(session: ReviewSession, key: bytes) -> str:
    payload = {
        "rid": session.reviewer_id,
        "csrf": session.csrf,
        "exp": session.expires,
        "flash": session.flash,
    }
    body = _b64(json.dumps(payload, separators=(",", ":")).encode())
    return body + "." + _b64(hmac.new(key, body.encode(), hashlib.sha256).digest())


def decode_session(cookie: str, key: bytes) -> ReviewSession | None:
    """The session a cookie holds, or None when it is forged, malformed or expired."""
    body, _, mac = cookie.partition(".")
    expected = _b64(hmac.new(key, body.encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(mac.encode(), expected.encode()):
        return None
    try:
        data = json.loads(_unb64(body))
        session = ReviewSession(data["rid"], str(data["csrf"]), int(data["exp"]), list(data["flash"]), False)
    except (ValueError, KeyError, TypeError):
        return None
    return session if session.expires > time.time() else None


def _read_session(request: Request, key: bytes) -> ReviewSession:
    cookie = request.cookies.get(COOKIE)
    session = decode_session(cookie, key) if cookie else None
    if session is not None:
        return session
    fresh = ReviewSession()
    if cookie:
        fresh.say("info", "Your session has ended: please sign in again.")
    return fresh


def _write_session(response: Response, session: ReviewSession, key: bytes, secure: bool) -> None:
    response.set_cookie(
        COOKIE,
        encode_session(session, key),
        max_age=max(session.expires - int(time.time()), 0),
        path=ROOT,
        httponly=True,
        samesite="lax",
        secure=secure,
    )


class ReviewRoute(APIRoute):
    """Every reviewer-UI route: loads the session before the handler, writes it back after,
    and answers refusals as pages (a redirect to the login page, a 403, a 404, a 422)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def reviewed(request: Request) -> Response:
            settings = services_of(request).settings
            key = signing_key(settings)
            request.state.review = _read_session(request, key)
            try:
                response = await handler(request)
            except LoginRequired as needed:
                response = RedirectResponse(f"{ROOT}/login?next={quote(needed.next_url, safe='/')}", 303)
            except RequestValidationError as invalid:
                response = message_page(request, 422, _describe(invalid))
            except Refused as refused:
                response = message_page(request, refused.status, refused.message)
            session: ReviewSession = request.state.review
            if session.changed:
                secure = settings.public_url.startswith("https://") or request.url.scheme == "https"
                _write_session(response, session, key, secure)
            return response

        return reviewed


def _describe(invalid: RequestValidationError) -> str:
    problems = [f"{'.'.join(map(str, e['loc'][1:])) or 'form'}: {e['msg']}" for e in invalid.errors()]
    return "Some values were not accepted: " + "; ".join(problems)


def review_router() -> APIRouter:
    return APIRouter(route_class=ReviewRoute, include_in_schema=False)  # pages, not API


# --- Dependencies -----------------------------------------------------------------------------


async def signed_in(request: Request) -> Reviewer:
    """The signed-in reviewer, read afresh (a removed account is signed out at once)."""
    session: ReviewSession = request.state.review
    if session.reviewer_id is not None:
        svc = services_of(request)

        def load() -> Reviewer | None:
            with svc.sessions() as db:
                return db.get(Reviewer, session.reviewer_id)

        reviewer = await asyncio.to_thread(load)
        if reviewer is not None:
            request.state.reviewer = reviewer
            return reviewer
        request.state.review = ReviewSession()
    raise LoginRequired(_here(request))


def check_csrf(request: Request, token: str) -> None:
    session: ReviewSession = request.state.review
    if not token or not hmac.compare_digest(token.encode(), session.csrf.encode()):
        raise CsrfRefused(
            "Its security token is missing or out of date (CSRF protection), so nothing was changed. "
            "Go back, reload the page and submit the form again."
        )


async def posting_reviewer(
    request: Request, csrf_token: str = Form("", max_length=200), reviewer: Reviewer = Depends(signed_in)
) -> Reviewer:
    """A signed-in reviewer submitting one of our own forms."""
    check_csrf(request, csrf_token)
    return reviewer


def _here(request: Request) -> str:
    if request.method != "GET":
        return HOME  # a form sent while signed out is not replayed: start from the task list
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def safe_next(next_url: str | None) -> str:
    """Only our own pages: a login link must not send a reviewer elsewhere."""
    if not next_url:
        return HOME
    parts = urlsplit(next_url)
    if parts.scheme or parts.netloc or "\\" in next_url or not parts.path.startswith(f"{ROOT}/"):
        return HOME
    return next_url


# --- Login and logout -------------------------------------------------------------------------

router = review_router()


@router.get("/login", name="review_login")
async def login_page(request: Request, next: str = Query(HOME, max_length=2000)) -> Response:
    session: ReviewSession = request.state.review
    if session.reviewer_id is not None:
        return RedirectResponse(safe_next(next), 303)
    return render(request, "login.html", {"next": safe_next(next), "title": "Sign in"})


@router.post("/login")
async def login(
    request: Request,
    username: str = Form("", max_length=200),
    password: str = Form("", max_length=500),
    next: str = Form(HOME, max_length=2000),
    csrf_token: str = Form("", max_length=200),
) -> Response:
    check_csrf(request, csrf_token)
    svc = services_of(request)

    def check() -> Reviewer | None:
        with svc.sessions() as db:
            return reviewers.authenticate(db, username.strip(), password)

    reviewer = await asyncio.to_thread(check) if username.strip() and password else None
    if reviewer is None:
        error = (
            "Wrong username or password."
            if username.strip() and password
            else "Enter your username and password."
        )
        context = {"next": safe_next(next), "title": "Sign in", "error": error, "username": username}
        return render(request, "login.html", context, status=401)
    # A new session (and CSRF token) at login: a token seen before signing in is worthless after.
    request.state.review = ReviewSession(reviewer_id=reviewer.id)
    return RedirectResponse(safe_next(next), 303)


@router.post("/logout")
async def logout(request: Request, _: Reviewer = Depends(posting_reviewer)) -> Response:
    request.state.review = ReviewSession()
    request.state.review.say("info", "You are signed out.")
    return RedirectResponse(f"{ROOT}/login", 303)
