"""The emulator's control API (no auth, dev and tests only): drive sessions, set knobs, read stats.

Handlers are `async def` so the state is only touched from the event loop.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Request
from pydantic import BaseModel, ValidationError

from proctorfree.emulator.api import ApiError, emulator_state, session_json
from proctorfree.emulator.state import EmulatedSession, EmulatorState, TransitionError
from proctorfree.interface import AuditOutcome

router = APIRouter(prefix="/emulator", tags=["emulator control"])


class AuditRequest(BaseModel):
    outcome: AuditOutcome = "clean"


@router.post("/sessions/{session_id}/start")
async def start_session(session_id: str, request: Request) -> dict[str, Any]:
    state = emulator_state(request)
    session = _session(state, session_id)
    _transition(state.start, session, status=409)
    return session_json(session, request)


@router.post("/sessions/{session_id}/finish")
async def finish_session(session_id: str, request: Request) -> dict[str, Any]:
    state = emulator_state(request)
    session = _session(state, session_id)
    _transition(state.finish, session, status=409)
    return session_json(session, request)


@router.post("/sessions/{session_id}/audit")
async def audit_session(
    session_id: str, request: Request, body: AuditRequest | None = None
) -> dict[str, Any]:
    state = emulator_state(request)
    session = _session(state, session_id)
    outcome = (body or AuditRequest()).outcome
    _transition(lambda s: state.audit(s, outcome), session, status=400)
    return session_json(session, request)


@router.get("/faults")
async def get_faults(request: Request) -> dict[str, Any]:
    return emulator_state(request).knobs.model_dump()


@router.put("/faults")
async def put_faults(request: Request, changes: dict[str, Any] = Body(...)) -> dict[str, Any]:
    """Partial update: only the knobs in the body change."""
    try:
        return emulator_state(request).fault_plan.update(changes).model_dump()
    except ValidationError as exc:
        raise ApiError(422, "invalid_faults", _first_error(exc)) from None


@router.get("/stats")
async def get_stats(request: Request) -> dict[str, Any]:
    return emulator_state(request).stats.as_json()


@router.post("/reset")
async def reset(request: Request) -> dict[str, str]:
    emulator_state(request).reset()
    return {"status": "reset"}


def _session(state: EmulatorState, session_id: str) -> EmulatedSession:
    session = state.find(session_id)
    if session is None:
        raise ApiError(404, "session_not_found", f"No session {session_id}.")
    return session


def _transition(step, session: EmulatedSession, status: int) -> None:
    try:
        step(session)
    except TransitionError as exc:
        raise ApiError(status, "invalid_state", str(exc)) from None


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"]) or "body"
    return f"{where}: {error['msg']}"
