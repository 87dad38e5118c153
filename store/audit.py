"""The organisation's audit log: who changed its data, when and from where (`GET
/api/v1/audit-log`, the reviewer UI's /review/audit-log). An entry is written in the transaction
of the change it tells of, so a change rolled back leaves none.

Who acts is noted once per request (`acting_as`: the LMS token or the signed-in reviewer, with
the client's address); the stores that change data record as them (`record_acting`), naming the
`changed_by` a call gives where it gives one. Work outside a request (the worker, the CLI)
records as `system` unless it notes otherwise.

A detail holds ids, field names and counts: never secrets, tokens, e-mail addresses or notes.

Entries are read by id; on PostgreSQL an entry may commit after one with a higher id, so a reader
paging at the very end of the log can pass it by (a log for people, not a delivery feed)."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import quote

from sqlmodel import Session, col, select

from models.tables import ApiToken, AuditEntry

ActorKind = Literal["reviewer", "token", "cli", "system"]


@dataclass(frozen=True)
class Acting:
    """Who acts in this request: a reviewer by username; a token by its digest (its name is read
    when an entry is written); `source` the client's address."""

    kind: ActorKind
    name: str = ""
    source: str = ""
    token_sha256: str | None = None


SYSTEM = Acting("system", "system")
# asyncio.to_thread copies the context: database work a request runs in a thread sees it.
_acting: ContextVar[Acting] = ContextVar("proctorflow_audit_acting", default=SYSTEM)


def acting_as(acting: Acting) -> None:
    """Note who acts for the rest of the current request (or task)."""
    _acting.set(acting)


def acting() -> Acting:
    return _acting.get()


def record(
    session: Session,
    org_id: str,
    actor: str,
    actor_kind: str,
    action: str,
    target: str = "",
    source: str = "",
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    """One entry, in the caller's transaction."""
    entry = AuditEntry(
        org_id=org_id,
        actor=actor,
        actor_kind=actor_kind,
        action=action,
        target=target,
        source=source,
        detail=detail or {},
    )
    session.add(entry)
    return entry


@dataclass(frozen=True)
class Who:
    """An entry's actor, as `record` takes it; `detail` names the token a change came through."""

    actor: str
    kind: str
    source: str
    detail: dict[str, Any] = field(default_factory=dict)


def who(session: Session, changed_by: str | None = None) -> Who:
    """Who acts now. A reviewer by username (whatever `changed_by` says: the sign-in is surer);
    an LMS token by its name, or by the `changed_by` its call gives; otherwise `changed_by`
    or `system`. Read it before a change that deletes the calling token."""
    now = acting()
    if now.kind == "token" and now.token_sha256:
        token = session.get(ApiToken, now.token_sha256)
        via = {"id": token.id, "name": token.name} if token else {"id": None, "name": "a deleted token"}
        return Who(changed_by or via["name"], "token", now.source, {"via_token": via})
    if now.kind == "reviewer":
        return Who(now.name, "reviewer", now.source)
    return Who(changed_by or now.name, now.kind, now.source)


def record_as(
    session: Session,
    by: Who,
    org_id: str,
    action: str,
    target: str = "",
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    return record(session, org_id, by.actor, by.kind, action, target, by.source, (detail or {}) | by.detail)


def record_acting(
    session: Session,
    org_id: str,
    action: str,
    target: str = "",
    detail: dict[str, Any] | None = None,
    changed_by: str | None = None,
) -> AuditEntry:
    """An entry as whoever acts now (`who`)."""
    return record_as(session, who(session, changed_by), org_id, action, target, detail)


def path(*parts: str) -> str:
    """A target by its ids, as the API's paths name it: `path("tokens", id)` is `tokens/<id>`."""
    return "/".join(quote(part, safe="") for part in parts)


def entries(session: Session, org_id: str, after: int | None, limit: int) -> list[AuditEntry]:
    """The organisation's entries after id `after`, oldest first."""
    query = select(AuditEntry).where(AuditEntry.org_id == org_id)
    if after is not None:
        query = query.where(col(AuditEntry.id) > after)
    return list(session.exec(query.order_by(col(AuditEntry.id)).limit(limit)))


def newest(
    session: Session, org_id: str, before: int | None, limit: int, action_prefix: str = ""
) -> list[AuditEntry]:
    """The organisation's entries before id `before`, newest first; only actions starting with
    `action_prefix` when one is given."""
    query = select(AuditEntry).where(AuditEntry.org_id == org_id)
    if before is not None:
        query = query.where(col(AuditEntry.id) < before)
    if action_prefix:
        query = query.where(col(AuditEntry.action).startswith(action_prefix, autoescape=True))
    return list(session.exec(query.order_by(col(AuditEntry.id).desc()).limit(limit)))


def actions(session: Session, org_id: str) -> list[str]:
    """The actions the organisation's log holds, for a filter to offer."""
    query = select(AuditEntry.action).where(AuditEntry.org_id == org_id).distinct()
    return sorted(session.exec(query))
