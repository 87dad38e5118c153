"""LMS authentication: a bearer token names the organisation every call is scoped to."""

from __future__ import annotations

import asyncio
import logging

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.exc import SQLAlchemyError

from proctorflow.errors import Refused
from store import catalog, tokens
from store.db import transaction
from web.services import Services, services

log = logging.getLogger("proctorflow.web.auth")

bearer = HTTPBearer(
    auto_error=False,
    description=(
        "An LMS API token of the organisation (POST /api/v1/tokens; PROCTORFLOW_LMS_TOKEN for the "
        "default organisation)"
    ),
)

_noting: set[asyncio.Task[None]] = set()  # last-use notes under way (a task needs a reference)


class Unauthorized(Refused):
    status = 401
    code = "unauthorized"


async def lms_org(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
    svc: Services = Depends(services),
) -> str:
    """The organisation of the calling LMS token."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("missing bearer token: send 'Authorization: Bearer <LMS API token>'")

    token = credentials.credentials
    org_id = svc.tokens.org_for(token)
    if org_id is None:

        def lookup() -> str | None:
            with svc.sessions() as session:
                return catalog.org_for_token(session, token)

        org_id = await asyncio.to_thread(lookup)
        if org_id is None:
            raise Unauthorized("the bearer token is not valid for any organisation")
        svc.tokens.remember(token, org_id)
    digest = svc.tokens.touch_due(token)
    if digest is not None:
        _note_use(svc, digest)
    return org_id


def _note_use(svc: Services, digest: str) -> None:
    """Write the token's last use beside the call, never holding it up (about once a minute)."""

    def write() -> None:
        try:
            with transaction(svc.sessions) as session:
                tokens.touch(session, digest)
        except SQLAlchemyError as error:  # a busy database: the next note comes within a minute
            log.warning("could not note an LMS token's last use (%s)", type(error).__name__)

    task = asyncio.create_task(asyncio.to_thread(write))
    _noting.add(task)
    task.add_done_callback(_noting.discard)
