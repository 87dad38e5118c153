"""The calling organisation's LMS API tokens: make one (shown once), list them (never the
tokens, only their first characters), delete one. A deleted token is refused within
PROCTORFLOW_TOKEN_CACHE_SECONDS (at once by the web process that deleted it); an
organisation's last token, and the bootstrap PROCTORFLOW_LMS_TOKEN, cannot be deleted."""

from __future__ import annotations

from fastapi import Depends, Response
from sqlmodel import Session

from models.tables import ApiToken
from models.tokens import TokenCreated, TokenIn, TokenOut
from store import audit, tokens
from web.api.common import api_router, read, write
from web.auth import lms_org
from web.services import Services, services

router = api_router(prefix="/tokens", tags=["tokens"])


@router.post("", status_code=201, response_model=TokenCreated)
async def create_token(
    body: TokenIn, org_id: str = Depends(lms_org), svc: Services = Depends(services)
) -> TokenCreated:
    """A new random token for the calling organisation. The reply is the only time it is shown:
    only its SHA-256 and first characters are kept."""

    def make(session: Session) -> TokenCreated:
        row, token = tokens.create(session, org_id, body.name)
        audit.record_acting(
            session, org_id, "token.created", audit.path("tokens", row.id), {"name": row.name}
        )
        return TokenCreated(id=row.id, name=row.name, token=token)

    return await write(svc, make)


@router.get("", response_model=list[TokenOut])
async def list_tokens(org_id: str = Depends(lms_org), svc: Services = Depends(services)) -> list[TokenOut]:
    return [token_out(row) for row in await read(svc, lambda session: tokens.list_tokens(session, org_id))]


@router.delete("/{token_id}", status_code=204, response_class=Response)
async def delete_token(
    token_id: str, org_id: str = Depends(lms_org), svc: Services = Depends(services)
) -> Response:
    """Refused (409) for the organisation's last token and for the bootstrap token; another
    organisation's token is not found (404)."""

    def revoke(session: Session) -> ApiToken:
        by = audit.who(session)  # before: the token revoked may be the calling one
        row = tokens.revoke(session, org_id, token_id)
        audit.record_as(
            session, by, org_id, "token.revoked", audit.path("tokens", row.id), {"name": row.name}
        )
        return row

    deleted = await write(svc, revoke)
    svc.tokens.forget(deleted.token_sha256)  # other web processes: within the cache time
    return Response(status_code=204)


def token_out(row: ApiToken) -> TokenOut:
    return TokenOut(
        id=row.id,
        name=row.name,
        prefix=row.prefix,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        bootstrap=row.bootstrap,
    )
