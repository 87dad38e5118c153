"""LMS authentication: a bearer token names the organisation every call is scoped to."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.exc import SQLAlchemyError

from proctorflow.errors import Refused
from store import audit, catalog, tokens
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


@dataclass(frozen=True)
class Caller:
    """The calling organisation, its token (by digest) and the client's address."""

    org_id: str
    token_sha256: str
    source: str


async def lms_caller(
    request: Request,
    org_id: str = Depends(lms_org),
    credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
) -> Caller:
    """`lms_org`, and who calls: noted as who acts in this request for the audit log
    (`store.audit`; async, so the note reaches the endpoint and the threads it starts)."""
    assert credentials is not None  # lms_org refused the call otherwise
    caller = Caller(org_id, tokens.token_digest(credentials.credentials), client_host(request))
    audit.acting_as(audit.Acting("token", source=caller.source, token_sha256=caller.token_sha256))
    return caller


def client_host(request: Request) -> str:
    """The client's address: the peer's, or the one a proxy uvicorn trusts forwarded
    (`--forwarded-allow-ips`), never an X-Forwarded-For anyone may send."""
    return request.client.host if request.client else ""


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
