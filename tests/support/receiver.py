"""The LMS's side of events: an endpoint that verifies every delivery with the
`standardwebhooks` package (not ProctorFlow's code) and keeps what it accepted. It can be told
to fail as real endpoints do: answer 5xx, answer too late, or not be there at all."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

from fastapi import FastAPI, Request, Response
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from tests.support.servers import free_port, serve_in_thread

Mode = Literal["accept", "fail", "slow"]


@dataclass
class Received:
    id: str
    type: str
    data: dict[str, Any]
    signatures: int  # how many `v1,` signatures the delivery carried


@dataclass
class Receiver:
    """Its `secrets` verify deliveries; each accepted one is kept, in the order it came."""

    secrets: list[str] = field(default_factory=list)
    mode: Mode = "accept"
    slow_seconds: float = 3.0
    accepted: list[Received] = field(default_factory=list)
    refused: Counter = field(default_factory=Counter)  # why deliveries were not accepted
    port: int = field(default_factory=free_port)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/lms/events"

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/lms/events")
        async def receive(request: Request) -> Response:
            body = (await request.body()).decode()
            if self.mode == "fail":
                self.refused["5xx"] += 1
                return Response(status_code=503)
            if self.mode == "slow":
                self.refused["slow"] += 1
                await asyncio.sleep(self.slow_seconds)
                return Response(status_code=200)
            payload = self.verify(body, dict(request.headers))
            if payload is None:
                self.refused["bad signature"] += 1
                return Response(status_code=400)
            signatures = len(request.headers["webhook-signature"].split())
            self.accepted.append(
                Received(request.headers["webhook-id"], payload["type"], payload["data"], signatures)
            )
            return Response(status_code=204)

        return app

    def verify(self, body: str, headers: dict[str, str]) -> dict[str, Any] | None:
        for secret in self.secrets:
            try:
                return Webhook(secret).verify(body, headers)
            except WebhookVerificationError:
                continue
        return None

    @asynccontextmanager
    async def serving(self) -> AsyncIterator[Receiver]:
        """Serve until the block ends. Starting and stopping wait on the server's thread, off the
        event loop: the worker's deliveries share this loop, and their timeouts must keep running."""
        server = serve_in_thread(self.app(), self.port)
        await asyncio.to_thread(server.__enter__)
        try:
            yield self
        finally:
            await asyncio.to_thread(server.__exit__, None, None, None)

    def ids(self) -> list[str]:
        return [r.id for r in self.accepted]

    def of(self, **data: Any) -> list[Received]:
        """The accepted events whose data holds these values (an attempt's, a course's)."""
        return [r for r in self.accepted if all(r.data.get(k) == v for k, v in data.items())]

    async def wait_for(self, predicate, timeout: float = 30.0) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while not predicate(self):
            if asyncio.get_running_loop().time() > deadline:
                kinds = [(r.type, json.dumps(r.data)[:80]) for r in self.accepted[-5:]]
                raise AssertionError(
                    f"timed out; {len(self.accepted)} accepted, last {kinds}; refused {self.refused}"
                )
            await asyncio.sleep(0.1)
