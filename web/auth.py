"""LMS authentication: a bearer token names the organisation every call is scoped to."""

from __future__ import annotations

import asyncio

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from proctorflow.errors import Refused
from store import catalog
from web.services import Services, services

bearer = HTTPBearer(
    auto_error=False, description="The LMS's API token (PROCTORFLOW_LMS_TOKEN for the default org)"
)


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
    if org_id is not None:
        return org_id

    def lookup() -> str | None:
        with svc.sessions() as session:
            return catalog.org_for_token(session, token)

    org_id = await asyncio.to_thread(lookup)
    if org_id is None:
        raise Unauthorized("the bearer token is not valid for any organisation")
    svc.tokens.remember(token, org_id)
    return org_id
