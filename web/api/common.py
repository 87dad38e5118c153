"""What every API resource shares: its router (with a body-size guard), database access off the
event loop, and the refusals that are not the caller's fault (Temporal or ProctorFree away)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from fastapi import APIRouter, Request, Response
from fastapi.routing import APIRoute
from sqlmodel import Session
from starlette.exceptions import HTTPException
from starlette.types import Message, Receive
from temporalio.client import WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.service import RPCError

from proctorflow.errors import Refused
from store.db import transaction
from web.services import Services

T = TypeVar("T")

MAX_BODY_BYTES = 1024 * 1024  # an LMS catalog of a thousand lessons fits many times over


class TooLarge(Refused, HTTPException):
    """413. Also an HTTPException, because FastAPI passes only those through unchanged when they
    are raised while it reads a body; the Refused handler still answers it (it comes first)."""

    status = 413
    code = "too_large"

    def __init__(self, message: str) -> None:
        HTTPException.__init__(self, status_code=413, detail=message)
        self.message, self.details = message, {"max_bytes": MAX_BODY_BYTES}


class Unavailable(Refused):
    """Something ProctorFlow depends on did not answer: not bad input, so worth a retry."""

    status = 503
    code = "unavailable"


class SizeCheckedRoute(APIRoute):
    """Refuses an oversized body with a message: from its Content-Length before reading it, or
    as it streams in when it comes without one."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def size_checked(request: Request) -> Response:
            _refuse_declared_size(request.headers.get("content-length"))
            return await handler(Request(request.scope, _size_limited(request.receive)))

        return size_checked


def _refuse_declared_size(content_length: str | None) -> None:
    if content_length is None:
        return
    try:
        size = int(content_length)
    except ValueError:
        raise Refused(f"Content-Length must be a number of bytes, not {content_length!r}") from None
    if size > MAX_BODY_BYTES:
        raise TooLarge(f"the request body is {size} bytes; {_LIMIT}")


def _size_limited(receive: Receive) -> Receive:
    received = 0

    async def limited() -> Message:
        nonlocal received
        message = await receive()
        received += len(message.get("body", b""))
        if received > MAX_BODY_BYTES:
            raise TooLarge(f"the request body is over {MAX_BODY_BYTES} bytes; {_LIMIT}")
        return message

    return limited


_LIMIT = f"the API accepts at most {MAX_BODY_BYTES} bytes (send one course per PUT)"


def api_router(**kwargs: Any) -> APIRouter:
    return APIRouter(route_class=SizeCheckedRoute, **kwargs)


async def read(svc: Services, work: Callable[[Session], T]) -> T:
    """Run `work` with a session, in a thread: database calls never block the event loop."""

    def run() -> T:
        with svc.sessions() as session:
            return work(session)

    return await asyncio.to_thread(run)


async def write(svc: Services, work: Callable[[Session], T]) -> T:
    """Run `work` in one transaction, in a thread; a Refused it raises rolls everything back."""

    def run() -> T:
        with transaction(svc.sessions) as session:
            return work(session)

    return await asyncio.to_thread(run)


@asynccontextmanager
async def temporal_reachable() -> AsyncIterator[None]:
    """A Temporal outage answers 503 with a reason, not a 500."""
    try:
        yield
    except WorkflowUpdateRPCTimeoutOrCancelledError as error:
        raise Unavailable(
            "the workflow service did not answer in time: the decision may still take effect; "
            "read the attempt before sending it again"
        ) from error
    except RPCError as error:
        raise Unavailable(
            f"the workflow service did not answer ({error.status.name if error.status else 'error'}): "
            "nothing was lost; try again shortly"
        ) from error
