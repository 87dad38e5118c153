"""What every API resource shares: its router, database access off the event loop, and the
refusals that are not the caller's fault (Temporal or ProctorFree away). The body-size limit and
the security headers are the whole app's (`web.hardening`)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from fastapi import APIRouter, Path
from sqlmodel import Session
from temporalio.client import WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.service import RPCError

from proctorflow.errors import Refused
from store.db import transaction
from web.services import Services

T = TypeVar("T")

# The LMS's ids in paths, the same everywhere.
CourseId = Path(min_length=1, max_length=200, description="The LMS's course id")
LessonId = Path(min_length=1, max_length=200, description="The LMS's lesson id")
LearnerId = Path(min_length=1, max_length=200, description="The LMS's learner id")


class Unavailable(Refused):
    """Something ProctorFlow depends on did not answer: not bad input, so worth a retry."""

    status = 503
    code = "unavailable"


def api_router(**kwargs: Any) -> APIRouter:
    """A resource's router. The body-size limit is the whole app's (`web.hardening`)."""
    return APIRouter(**kwargs)


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
            "the workflow service did not answer in time: the change may still take effect; "
            "read the attempt before sending it again"
        ) from error
    except RPCError as error:
        raise Unavailable(
            f"the workflow service did not answer ({error.status.name if error.status else 'error'}): "
            "nothing was lost; try again shortly"
        ) from error
