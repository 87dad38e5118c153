"""The demo LMS app: its pages, the live answers they poll, and the event endpoint. At start it
registers with ProctorFlow (`demo_lms.connect`); nothing here reaches ProctorFlow but its API."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from demo_lms import events, exam, lesson, live, pages, rendering
from demo_lms.connect import CannotConnect, connect
from demo_lms.learners import CookieSigner
from demo_lms.ledger import Ledger
from demo_lms.proctorflow_api import ProctorFlowApi
from demo_lms.settings import DemoLmsSettings

log = logging.getLogger("demo_lms")


def create_app(settings: DemoLmsSettings | None = None) -> FastAPI:
    settings = settings or DemoLmsSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        api = ProctorFlowApi(settings.api_url, settings.token)
        app.state.api = api
        try:
            app.state.verifier = await connect(api, settings, app.state.ledger)
        except CannotConnect as exc:
            log.error("the demo LMS cannot start: %s", exc)
            await api.aclose()
            raise
        try:
            yield
        finally:
            await api.aclose()

    app = FastAPI(title="Demo LMS for ProctorFlow", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.settings = settings
    app.state.ledger = Ledger()
    app.state.attempts = live.Attempts()
    app.state.signer = CookieSigner(settings.cookie_key)
    app.state.verifier = None  # set once the endpoint is registered
    rendering.install(app)
    for module in (pages, lesson, exam, live, events):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
