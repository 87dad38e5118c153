"""Builds one emulator app: its own state, routers, error handlers, webhooks and ticker; its
sessions in memory, or also in a file (`sessions_file`, as dev mode runs it) so that a restarted
emulator still knows them, and the warnings, ends and audits they were waiting for still come."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Container
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

from proctorfree.emulator import api, control, pages
from proctorfree.emulator.faults import Faults, InjectedFault, fault_response
from proctorfree.emulator.notifier import Background, WebhookNotifier
from proctorfree.emulator.saved import load_sessions, save_sessions
from proctorfree.emulator.state import Clock, EmulatorState

log = logging.getLogger(__name__)

# Dev mode starts the web app beside a restarted emulator: what fell due for its saved sessions
# while both were down waits this long, so that its webhook finds the web app answering.
RESUMED_TIMER_GRACE_SECONDS = 10.0
# How often the ticker applies what fell due (warnings, ends, audits) without anyone reading.
TICK_SECONDS = 0.5


def create_app(
    webhook_url: str | None = None,
    webhook_secret: str = "dev-webhook-secret",
    audit_delay_seconds: float = 5.0,
    clock: Clock | None = None,
    sessions_file: Path | None = None,
    minute_seconds: float = 60.0,
) -> FastAPI:
    """`minute_seconds`: real seconds in an emulated minute of a session's time limit."""
    knobs = Faults(audit_delay_seconds=audit_delay_seconds, minute_seconds=minute_seconds)
    state = EmulatorState(knobs, clock=clock)
    if sessions_file is not None:
        state.load(load_sessions(sessions_file))
        state.changed = lambda: save_sessions(sessions_file, state.sessions())
    background = Background()
    notifier = WebhookNotifier(webhook_url, webhook_secret, state, background)
    state.listeners.append(notifier.on_event)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        resumed = {session.session_id for session in state.sessions()}
        ticker = asyncio.create_task(_tick(state, resumed, RESUMED_TIMER_GRACE_SECONDS))
        yield
        ticker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ticker
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


async def _tick(state: EmulatorState, resumed: Container[str], grace_seconds: float) -> None:
    """Time-driven changes also happen unread, so their webhooks go out without anyone polling.
    Sessions known from an earlier run wait out the grace first (reading one still applies)."""
    loop = asyncio.get_running_loop()
    grace_ends = loop.time() + grace_seconds
    while True:
        try:
            state.apply_due(held=resumed if loop.time() < grace_ends else ())
        except Exception:  # e.g. the sessions file could not be written: the next tick tries again
            log.exception("the emulator's ticker failed")
        await asyncio.sleep(TICK_SECONDS)


async def _api_error(request: Request, exc: api.ApiError) -> Response:
    return JSONResponse({"error": exc.code, "message": exc.message}, status_code=exc.status)


async def _injected_fault(request: Request, exc: InjectedFault) -> Response:
    return await fault_response(exc.kind, request.app.state.emulator.knobs)


async def _invalid_request(request: Request, exc: RequestValidationError) -> Response:
    problems = "; ".join(
        f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}" for error in exc.errors()
    )
    return JSONResponse({"error": "invalid_request", "message": problems}, status_code=422)
