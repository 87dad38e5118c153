"""Who is reviewing: server-side sessions, a CSRF token per session, login, logout and a
password change.

A session is a row (`store.review_sessions`): the cookie carries its random token, the database
only the token's hash, so logout, a password change or `proctorflow revoke-sessions` end it for
good (a copied cookie is refused from then on). The cookie also carries the session's CSRF
token, its expiry and one-shot messages, signed with HMAC-SHA256 under the cookie key ring
(PROCTORFLOW_SESSION_KEY, a key of its own), so none of it can be forged or stretched. It is
HttpOnly, SameSite=Lax, scoped to /review and expires after eight hours. Every form carries the
session's CSRF token and every POST is checked against it, the login form included (an
anonymous session has a token too). Sign-ins are rate-limited and hashed off the API's thread
pool (`web.review.guard`).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import json
import secrets
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Depends, Form, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute
from sqlmodel import Session

from models.tables import Reviewer
from proctorflow.crypto import SessionKeys, session_keys
from proctorflow.errors import Refused
from store import audit, review_sessions, reviewers
from store.db import transaction
from web.auth import client_host
from web.review.guard import (
    BUSY_RETRY_AFTER,
    HashingBusy,
    client_address,
    login_limits,
    off_the_api_pool,
)
from web.review.pages import ROOT, message_page, render
from web.services import services_of

COOKIE = "proctorflow_review"
LIFETIME_SECONDS = 8 * 3600
LIFETIME = timedelta(seconds=LIFETIME_SECONDS)
HOME = f"{ROOT}/tasks"
SESSION_ENDED = "Your session has ended: please sign in again."


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
    token: str | None = None  # the server-side session's token; None: nobody is signed in
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


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode_session(session: ReviewSession, keys: SessionKeys) -> str:
    payload = {"sid": session.token, "csrf": session.csrf, "exp": session.expires, "flash": session.flash}
    body = _b64(json.dumps(payload, separators=(",", ":")).encode())
    return body + "." + _b64(keys.sign(body.encode()))


def decode_session(cookie: str, keys: SessionKeys) -> ReviewSession | None:
    """The session a cookie holds, or None when it is forged, malformed or expired. One signed
    with an older key of the ring is signed again with the current one."""
    body, _, mac = cookie.partition(".")
    try:
        signed_with = keys.verify(body.encode(), _unb64(mac))
        if signed_with is None:
            return None
        data = json.loads(_unb64(body))
        token = data["sid"]
        session = ReviewSession(
            token if isinstance(token, str) else None,
            str(data["csrf"]),
            int(data["exp"]),
            list(data["flash"]),
            changed=signed_with > 0,
        )
    except (ValueError, KeyError, TypeError, binascii.Error):
        return None
    return session if session.expires > time.time() else None


def _keys(request: Request) -> SessionKeys:
    state = request.app.state
    keys = getattr(state, "review_session_keys", None)
    if keys is None:
        keys = state.review_session_keys = session_keys(services_of(request).settings)
    return keys


def _read_session(request: Request, keys: SessionKeys) -> ReviewSession:
    cookie = request.cookies.get(COOKIE)
    session = decode_session(cookie, keys) if cookie else None
    if session is not None:
        return session
    fresh = ReviewSession()
    if cookie:
        fresh.say("info", SESSION_ENDED)
    return fresh


def _write_session(response: Response, session: ReviewSession, keys: SessionKeys, secure: bool) -> None:
    response.set_cookie(
        COOKIE,
        encode_session(session, keys),
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
            keys = _keys(request)
            request.state.review = _read_session(request, keys)
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
                _write_session(response, session, keys, secure)
            return response

        return reviewed


def _describe(invalid: RequestValidationError) -> str:
    problems = [f"{'.'.join(map(str, e['loc'][1:])) or 'form'}: {e['msg']}" for e in invalid.errors()]
    return "Some values were not accepted: " + "; ".join(problems)


def review_router() -> APIRouter:
    return APIRouter(route_class=ReviewRoute, include_in_schema=False)  # pages, not API


# --- Dependencies -----------------------------------------------------------------------------


async def signed_in(request: Request) -> Reviewer:
    """The signed-in reviewer, read afresh with the session (a revoked session or a removed
    account is signed out at once)."""
    reviewer = await current_reviewer(request)
    if reviewer is None:
        raise LoginRequired(_here(request))
    return reviewer


async def current_reviewer(request: Request) -> Reviewer | None:
    session: ReviewSession = request.state.review
    token = session.token
    if token is None:
        return None
    svc = services_of(request)

    def load() -> Reviewer | None:
        with transaction(svc.sessions) as db:
            found = review_sessions.active(db, token)
            return found[1] if found is not None else None

    reviewer = await asyncio.to_thread(load)
    if reviewer is None:
        request.state.review = ReviewSession()
        request.state.review.say("info", SESSION_ENDED)
        return None
    request.state.reviewer = reviewer
    # What the reviewer changes in this request is audited as theirs (async: the note reaches the page).
    audit.acting_as(audit.Acting("reviewer", reviewer.username, client_host(request)))
    return reviewer


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
    if await current_reviewer(request) is not None:
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
    name = username.strip()
    context = {"next": safe_next(next), "title": "Sign in", "username": username}
    if not name or not password:
        return render(request, "login.html", context | {"error": "Enter your username and password."}, 401)
    refused = await _throttled(request, "login.html", context, name)
    if refused is not None:
        return refused

    source = client_host(request)

    def sign_in() -> tuple[str, int] | None:
        with transaction(svc.sessions) as db:
            reviewer = reviewers.authenticate(db, name, password)
            if reviewer is None:
                _audit_failed_login(db, name, source)
                return None
            token, row = review_sessions.start(db, reviewer.id, LIFETIME)
            _audit_account(db, reviewer, "reviewer.login", source)
            return token, int(row.expires_at.timestamp())

    try:
        started = await off_the_api_pool(sign_in)
    except HashingBusy:
        return _busy(request, "login.html", context)
    if started is None:
        return render(request, "login.html", context | {"error": "Wrong username or password."}, 401)
    # A new session (and CSRF token) at login: a token seen before signing in is worthless after.
    request.state.review = ReviewSession(token=started[0], expires=started[1])
    return RedirectResponse(safe_next(next), 303)


def _audit_account(
    db: Session, reviewer: Reviewer, action: str, source: str, detail: dict | None = None
) -> None:
    target = audit.path("reviewers", reviewer.id)
    audit.record(db, reviewer.org_id, reviewer.username, "reviewer", action, target, source, detail)


def _audit_failed_login(db: Session, username: str, source: str) -> None:
    """A wrong password for an account, in its organisation's log. A name no account has is not
    kept: it belongs to no organisation, and may be a password typed in the wrong box."""
    account = reviewers.by_username(db, username)
    if account is not None:
        _audit_account(db, account, "reviewer.login_failed", source, {"reason": "wrong password"})


@router.post("/logout")
async def logout(request: Request, _: Reviewer = Depends(posting_reviewer)) -> Response:
    token = request.state.review.token
    svc = services_of(request)

    def end() -> None:
        with transaction(svc.sessions) as db:
            review_sessions.revoke(db, token)

    await asyncio.to_thread(end)
    request.state.review = ReviewSession()
    request.state.review.say("info", "You are signed out.")
    return RedirectResponse(f"{ROOT}/login", 303)


# --- Changing one's password ------------------------------------------------------------------


@router.get("/password", name="review_password")
async def password_page(request: Request, _: Reviewer = Depends(signed_in)) -> Response:
    return render(request, "password.html", {"title": "Change your password"})


@router.post("/password")
async def change_password(
    request: Request,
    current_password: str = Form("", max_length=500),
    new_password: str = Form("", max_length=500),
    new_password_again: str = Form("", max_length=500),
    reviewer: Reviewer = Depends(posting_reviewer),
) -> Response:
    """A new password signs out every other session of the reviewer; this browser gets a new one."""
    context = {"title": "Change your password"}
    problem = None
    if len(new_password) < reviewers.MIN_PASSWORD_LENGTH:
        problem = f"The new password needs at least {reviewers.MIN_PASSWORD_LENGTH} characters."
    elif new_password != new_password_again:
        problem = "The two new passwords differ."
    if problem:
        return render(request, "password.html", context | {"error": problem}, 422)
    refused = await _throttled(request, "password.html", context, reviewer.username)
    if refused is not None:
        return refused
    svc, source = services_of(request), client_host(request)

    def change() -> tuple[int, str, int] | None:
        with transaction(svc.sessions) as db:
            account = db.get(Reviewer, reviewer.id)
            if account is None or not reviewers.password_matches(current_password, account.password_hash):
                return None
            revoked = reviewers.change_password(db, account, new_password)
            _audit_account(db, account, "reviewer.password_changed", source)
            token, row = review_sessions.start(db, account.id, LIFETIME)
            return revoked, token, int(row.expires_at.timestamp())

    try:
        changed = await off_the_api_pool(change)
    except HashingBusy:
        return _busy(request, "password.html", context)
    if changed is None:
        error = "Your current password is not right: nothing was changed."
        return render(request, "password.html", context | {"error": error}, 403)
    revoked, token, expires = changed
    request.state.review = ReviewSession(token=token, expires=expires)
    others = max(revoked - 1, 0)  # this browser's old session was one of them
    ended = f"{others} other session{'s' if others != 1 else ''} of yours" if others else "no other session"
    request.state.review.say("info", f"Your password is changed; {ended} was signed out.")
    return RedirectResponse(HOME, 303)


async def _throttled(request: Request, template: str, context: dict, username: str) -> Response | None:
    """A 429 page when the account or the client address has spent its sign-in attempts."""
    limits = login_limits(request, services_of(request).settings)
    wait = await limits.spend(username, client_address(request))
    if wait is None:
        return None
    error = f"Too many sign-in attempts: wait {_duration(wait)} and try again."
    response = render(request, template, context | {"error": error}, 429)
    response.headers["Retry-After"] = str(wait)
    return response


def _busy(request: Request, template: str, context: dict) -> Response:
    error = "Too many sign-ins are being checked right now: try again in a few seconds."
    response = render(request, template, context | {"error": error}, 503)
    response.headers["Retry-After"] = str(BUSY_RETRY_AFTER)
    return response


def _duration(seconds: int) -> str:
    if seconds < 90:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = -(-seconds // 60)
    return f"{minutes} minutes"
