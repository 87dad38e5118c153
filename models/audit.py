"""The organisation's audit log as the API answers it (`GET /api/v1/audit-log`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class AuditEntryOut(BaseModel):
    id: int
    at: datetime
    actor: str = Field(
        description="the reviewer's username, the LMS token's name or the call's changed_by, or system"
    )
    actor_kind: str = Field(description="reviewer, token, cli or system")
    action: str = Field(description="what was done, e.g. integration.added, reviewer.login")
    target: str = Field(description="what it was done to, by id")
    source: str = Field(description="the client's address, where there was one")
    detail: dict[str, Any] = Field(
        description="ids, field names and counts: never secrets, e-mail addresses or notes"
    )


class AuditLog(BaseModel):
    entries: list[AuditEntryOut] = Field(description="oldest first")
    next_cursor: int | None = Field(
        description="pass as `after` for the entries that follow (null: the log is still empty)"
    )
