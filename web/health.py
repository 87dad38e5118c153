"""Probes: `/livez` (the process answers; cheap, for a liveness probe) and `/healthz` (ready:
the database answers with this build's schema and Temporal answers; for a readiness probe and a
load balancer). Neither needs a token; neither says more than which part failed."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine
from temporalio.client import Client

from proctorflow.health import Report, report, temporal_check
from store.health import Schema, database_check

# Answers are reused this long: probes from every load balancer and kubelet, or anyone who
# reaches the port, cost the database and Temporal one round trip each per interval at most.
REUSE_SECONDS = 2.0

router = APIRouter(include_in_schema=False)


@dataclass
class Readiness:
    engine: Engine
    temporal: Client
    schema: Schema
    _last: tuple[float, Report] | None = field(default=None, repr=False)

    @classmethod
    def of(cls, engine: Engine, temporal: Client, database_url: str) -> Readiness:
        return cls(engine, temporal, Schema.of(database_url))

    async def report(self) -> Report:
        now = time.monotonic()
        if self._last and now - self._last[0] < REUSE_SECONDS:
            return self._last[1]
        answer = await report(
            [lambda: database_check(self.engine, self.schema), lambda: temporal_check(self.temporal)]
        )
        self._last = (time.monotonic(), answer)
        return answer


def install(app: FastAPI) -> None:
    app.include_router(router)


@router.get("/livez")
async def livez() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/healthz")
async def healthz(request: Request) -> JSONResponse:
    answer = await request.app.state.readiness.report()
    return JSONResponse(
        answer.as_json(), status_code=answer.status_code, headers={"Cache-Control": "no-store"}
    )
