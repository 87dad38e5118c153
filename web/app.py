"""The web app factory: the LMS API, the reviewer UI and the codec endpoint. It serves no learner
pages: the LMS does (the demo LMS, `demo_lms/`, is a separate app and a client of the API)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from temporalio.client import Client

from proctorflow.crypto import secret_box
from proctorflow.settings import Settings, get_settings
from proctorflow.temporal import connect
from proctorfree.client import ProctorFreeClient
from store import catalog
from store.db import make_engine, session_factory, transaction
from store.health import require_schema
from web import docs, errors, health
from web.hardening import Hardening, PathCORS
from web.health import Readiness
from web.services import Services
from web.tokens import KnownTokens

REVIEW_STATIC = Path(__file__).parent / "review" / "static"  # the reviewer UI's stylesheet


def create_app(settings: Settings | None = None, temporal: Client | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.database_url)
        require_schema(engine, settings.database_url)
        sessions = session_factory(engine)
        with transaction(sessions) as session:
            catalog.ensure_default_organisation(session, settings.lms_token)
        client = temporal or await connect(settings)
        async with ProctorFreeClient(
            settings.proctorfree_url, timeout=settings.proctorfree_timeout
        ) as vendor:
            app.state.services = Services(
                settings,
                session_factory(engine),
                client,
                secret_box(settings),
                vendor,
                KnownTokens(settings.token_cache_seconds),
            )
            app.state.readiness = Readiness.of(engine, client, settings.database_url)
            yield
        engine.dispose()

    app = FastAPI(
        title="ProctorFlow",
        version="1.0",
        description="Proctored exams for an LMS through ProctorFree, a Temporal workflow per attempt.",
        lifespan=lifespan,
        docs_url=None,  # served by web.docs, under a policy of their own
        redoc_url=None,
    )
    errors.install(app)
    docs.install(app)
    health.install(app)
    _include_routers(app)
    # The Temporal UI calls the codec endpoint from the browser: CORS there, and nowhere else.
    app.add_middleware(
        PathCORS,
        prefix="/codec",
        allow_origins=[settings.codec_ui_origin],
        allow_methods=["POST", "OPTIONS"],
        allow_headers=["Authorization", "Content-Type", "X-Namespace"],
        allow_credentials=True,
    )
    # Outermost: one body limit and one set of security headers for every route.
    app.add_middleware(Hardening)
    return app


def _include_routers(app: FastAPI) -> None:
    from web.api import router as api_router
    from web.codec import router as codec_router
    from web.review import router as review_router

    app.include_router(api_router, prefix="/api/v1")
    app.include_router(codec_router, prefix="/codec")
    app.mount("/review/static", StaticFiles(directory=REVIEW_STATIC), name="review_static")
    app.include_router(review_router, prefix="/review")
