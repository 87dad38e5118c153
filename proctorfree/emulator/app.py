"""Builds one emulator app: its own state, routers, error handlers, webhooks and timers; its
sessions in memory, or also in a file (`sessions_file`, as dev mode runs it) so that a restarted
emulator still knows them, and the audits and practice caps they were waiting for still come."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from functools import partial
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

from proctorfree.emulator import api, control, pages
from proctorfree.emulator.faults import Faults, InjectedFault, fault_response
from proctorfree.emulator.notifier import Background, WebhookNotifier
from proctorfree.emulator.saved import load_sessions, save_sessions
from proctorfree.emulator.state import PRACTICE_CAP, Clock, EmulatedSession, EmulatorState
from proctorfree.interface import AuditOutcome

# Dev mode starts the web app beside a restarted emulator: what fell due while both were down
# waits this long, so that its webhook finds the web app answering.
RESUMED_TIMER_GRACE_SECONDS = 10.0
# Timers sleep on the event loop's clock, sessions' times are the wall clock's: wake a little
# after a time falls due, never just before it.
TIMER_MARGIN_SECONDS = 0.2


def create_app(
    webhook_url: str | None = None,
    webhook_secret: str = "dev-webhook-secret",
    audit_delay_seconds: float = 5.0,
    clock: Clock | None = None,
    sessions_file: Path | None = None,
) -> FastAPI:
    state = EmulatorState(Faults(audit_delay_seconds=audit_delay_seconds), clock=clock)
    if sessions_file is not None:
        state.load(load_sessions(sessions_file))
        state.changed = lambda: save_sessions(sessions_file, state.sessions())
    background = Background()
    notifier = WebhookNotifier(webhook_url, webhook_secret, state, background)
    state.listeners.append(notifier.on_event)
    state.listeners.append(partial(_schedule_timers, state, background))

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        _resume_timers(state, background)
        yield
        await notifier.aclose()

    app = FastAPI(
        title="ProctorFree emulator",
        description="A modelled stand-in for ProctorFree's API, learner pages and webhooks.",
        lifespan=lifespan,
    )
    app.state.emulator = state
    app.include_router(api.router)
    app.include_router(control.router)
    app.include_router(pages.router)
    app.add_exception_handler(api.ApiError, _api_error)
    app.add_exception_handler(InjectedFault, _injected_fault)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(pages.PageError, pages.render_page_error)
    return app


def _schedule_timers(
    state: EmulatorState,
    background: Background,
    event_type: str,
    session: EmulatedSession,
    outcome: AuditOutcome | None,
) -> None:
    """Time-driven changes also happen unread, so their webhooks fire without anyone polling."""
    if event_type == "session.started" and session.method == "practice":
        background.spawn(_refresh_later(state, session.session_id, PRACTICE_CAP.total_seconds()))
    elif event_type == "session.finished" and session.audit_status == "pending":
        delay = state.knobs.audit_delay_seconds
        background.spawn(_refresh_later(state, session.session_id, delay))


def _resume_timers(state: EmulatorState, background: Background) -> None:
    """The timers of sessions known from an earlier run: what fell due while the emulator was
    down happens (and its webhook goes out) shortly, the rest when it is due."""
    now = state.clock()
    for session in state.sessions():
        due = None
        if session.method == "practice" and session.status == "started" and session.started_at is not None:
            due = session.started_at + PRACTICE_CAP
        elif session.audit_status == "pending" and session.finished_at is not None:
            due = session.finished_at + timedelta(seconds=state.knobs.audit_delay_seconds)
        if due is not None:
            seconds = max((due - now).total_seconds() + TIMER_MARGIN_SECONDS, RESUMED_TIMER_GRACE_SECONDS)
            background.spawn(_refresh_later(state, session.session_id, seconds))


async def _refresh_later(state: EmulatorState, session_id: str, seconds: float) -> None:
    await asyncio.sleep(seconds)
    state.find(session_id)  # reading applies whatever became due


async def _api_error(request: Request, exc: api.ApiError) -> Response:
    return JSONResponse({"error": exc.code, "message": exc.message}, status_code=exc.status)


async def _injected_fault(request: Request, exc: InjectedFault) -> Response:
    return await fault_response(exc.kind, request.app.state.emulator.knobs)


async def _invalid_request(request: Request, exc: RequestValidationError) -> Response:
    problems = "; ".join(
        f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}" for error in exc.errors()
    )
    return JSONResponse({"error": "invalid_request", "message": problems}, status_code=422)
