"""The calling organisation's audit log: who changed what, when, from where (`store.audit`)."""

from __future__ import annotations

from fastapi import Depends, Query

from models.audit import AuditEntryOut, AuditLog
from models.tables import AuditEntry
from store import audit
from web.api.common import api_router, read
from web.auth import lms_org
from web.services import Services, services

router = api_router(prefix="/audit-log", tags=["audit log"])


@router.get("", response_model=AuditLog)
async def audit_log(
    after: int | None = Query(
        default=None,
        ge=0,
        le=2**63 - 1,
        description="the `next_cursor` of the last reply; none: the first entry",
    ),
    limit: int = Query(default=100, ge=1, le=500),
    org_id: str = Depends(lms_org),
    svc: Services = Depends(services),
) -> AuditLog:
    """The organisation's entries after the cursor, oldest first."""
    found = await read(svc, lambda session: audit.entries(session, org_id, after, limit))
    return AuditLog(
        entries=[entry_out(entry) for entry in found], next_cursor=found[-1].id if found else after
    )


def entry_out(entry: AuditEntry) -> AuditEntryOut:
    return AuditEntryOut(
        id=entry.id or 0,
        at=entry.at,
        actor=entry.actor,
        actor_kind=entry.actor_kind,
        action=entry.action,
        target=entry.target,
        source=entry.source,
        detail=entry.detail or {},
    )
