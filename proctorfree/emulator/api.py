"""The emulated vendor API under /api/v1: Basic auth, fault injection, session JSON.

Every handler and dependency is `async def`: sync ones would run in a thread pool, and the state
must only be touched from the event loop.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.security import HTTPBasic, HTTPBasicCredentials
from pydantic import BaseModel, Field

from proctorfree.emulator import limits
from proctorfree.emulator.faults import InjectedFault
from proctorfree.emulator.state import EmulatedSession, EmulatorState, TransitionError
from proctorfree.interface import Method

REFUSED_KEY_PREFIXES = ("invalid", "revoked")

_basic = HTTPBasic(auto_error=False)


class ApiError(Exception):
    """Answered as `{"error": code, "message": message}` with the given status."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def emulator_state(request: Request) -> EmulatorState:
    return request.app.state.emulator


async def count_and_inject_faults(request: Request) -> None:
    """Runs before auth and the handler: every call is counted, and a fault pre-empts it."""
    state = emulator_state(request)
    route = request.scope.get("route")
    state.stats.api_calls[f"{request.method} {getattr(route, 'path', request.url.path)}"] += 1
    kind = state.fault_plan.next_fault()
    if kind is not None:
        raise InjectedFault(kind)


async def authenticated_key(
    request: Request, credentials: HTTPBasicCredentials | None = Depends(_basic)
) -> str:
    state = emulator_state(request)
    if credentials is None:
        raise ApiError(401, "invalid_credentials", "HTTP Basic credentials are required.")
    key = credentials.username
    if key.startswith(REFUSED_KEY_PREFIXES) or key in state.knobs.revoked_api_keys:
        raise ApiError(401, "invalid_credentials", "The API key is invalid or has been revoked.")
    return key


router = APIRouter(prefix="/api/v1", dependencies=[Depends(count_and_inject_faults)])


class Learner(BaseModel):
    name: str
    email: str


class CreateSession(BaseModel):
    external_id: str
    exam_name: str
    learner: Learner
    method: Method
    return_url: str | None = None  # none: the "session started, you may close this window" page
    time_limit_minutes: int | None = Field(None, ge=1)  # none: the method's cap
    accommodation_note: str | None = Field(None, max_length=2000)  # for the reviewer's page


class SessionChange(BaseModel):
    time_limit_minutes: int = Field(ge=1)


@router.get("/account")
async def account(api_key: str = Depends(authenticated_key)) -> dict[str, str]:
    return {"account": api_key}


@router.post("/sessions", status_code=201)
async def create_session(
    body: CreateSession,
    request: Request,
    response: Response,
    api_key: str = Depends(authenticated_key),
) -> dict[str, Any]:
    state = emulator_state(request)
    if body.time_limit_minutes is not None:
        _refuse_over_cap(body.method, body.time_limit_minutes)
    session, created = state.create(
        api_key=api_key,
        external_id=body.external_id,
        exam_name=body.exam_name,
        learner_name=body.learner.name,
        learner_email=body.learner.email,
        method=body.method,
        return_url=body.return_url,
        time_limit_minutes=body.time_limit_minutes,
        accommodation_note=body.accommodation_note,
    )
    state.stats.of(session.session_id).creates += 1
    if not created:
        response.status_code = 200
    return session_json(session, request)


@router.get("/sessions/{session_id}")
async def get_session(
    session_id: str, request: Request, api_key: str = Depends(authenticated_key)
) -> dict[str, Any]:
    state = emulator_state(request)
    session = _owned_session(state, session_id, api_key)
    state.record_status_check(session)
    return session_json(session, request)


@router.patch("/sessions/{session_id}")
async def change_session(
    session_id: str, body: SessionChange, request: Request, api_key: str = Depends(authenticated_key)
) -> dict[str, Any]:
    """A new time limit, counted from the start as before: 422 over the method's cap, 409 once
    the session has finished or closed."""
    state = emulator_state(request)
    session = _owned_session(state, session_id, api_key)
    _refuse_over_cap(session.method, body.time_limit_minutes)
    try:
        state.set_time_limit(session, body.time_limit_minutes)
    except TransitionError as exc:
        raise ApiError(409, "invalid_state", str(exc)) from None
    return session_json(session, request)


@router.post("/sessions/{session_id}/close")
async def close_session(
    session_id: str, request: Request, api_key: str = Depends(authenticated_key)
) -> dict[str, Any]:
    state = emulator_state(request)
    session = _owned_session(state, session_id, api_key)
    state.close(session)
    state.stats.of(session.session_id).closes += 1
    return session_json(session, request)


def _owned_session(state: EmulatorState, session_id: str, api_key: str) -> EmulatedSession:
    # Another account's session answers 404, as if it did not exist.
    session = state.find(session_id, api_key=api_key)
    if session is None:
        raise ApiError(404, "session_not_found", f"No session {session_id}.")
    return session


def _refuse_over_cap(method: Method, minutes: int) -> None:
    refusal = limits.limit_refusal(method, minutes)
    if refusal is not None:
        raise ApiError(422, "invalid_time_limit", refusal)


def session_json(session: EmulatedSession, request: Request) -> dict[str, Any]:
    """The wire form of a session; links point at whichever host and port served the call."""
    base = str(request.base_url).rstrip("/")
    return {
        "session_id": session.session_id,
        "external_id": session.external_id,
        "method": session.method,
        "status": session.status,
        "setup_url": f"{base}/s/{session.session_id}/setup",
        "review_url": f"{base}/review/{session.session_id}",
        "started_at": _iso(session.started_at),
        "finished_at": _iso(session.finished_at),
        "time_limit_minutes": limits.limit_minutes(session),
        "capped": session.capped,
        "audit_status": session.audit_status,
        "audit_outcome": session.audit_outcome,
    }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None
