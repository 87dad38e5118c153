"""The organisation's audit log in the reviewer UI (`store.audit`): who changed what, when and
from where; newest first, a page at a time, optionally only one kind of action."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi import Depends, Query, Request, Response
from sqlmodel import Session

from models.tables import AuditEntry, Reviewer
from store import audit
from web.api.common import read
from web.review.auth import review_router, signed_in
from web.review.pages import ROOT, render
from web.services import services_of

router = review_router()

PAGE_SIZE = 50
KINDS = {"reviewer": "Reviewer", "token": "LMS token", "cli": "Command line", "system": "ProctorFlow"}


@dataclass(frozen=True)
class Shown:
    entry: AuditEntry
    kind: str
    detail: list[tuple[str, str]]  # (name, value in words)


@router.get("/audit-log")
async def audit_log_page(
    request: Request,
    before: int | None = Query(None, ge=1, le=2**63 - 1),
    action: str = Query("", max_length=100),
    reviewer: Reviewer = Depends(signed_in),
) -> Response:
    prefix = action.strip()

    def load(session: Session) -> tuple[list[AuditEntry], list[str]]:
        found = audit.newest(session, reviewer.org_id, before, PAGE_SIZE + 1, prefix)
        return found, audit.actions(session, reviewer.org_id)

    found, known = await read(services_of(request), load)
    rows = [Shown(entry, KINDS.get(entry.actor_kind, entry.actor_kind), _detail(entry)) for entry in found]
    context = {
        "title": "Audit log",
        "rows": rows[:PAGE_SIZE],
        "action": prefix,
        "choices": _choices(known, prefix),
        "older": _link(rows[PAGE_SIZE - 1].entry.id, prefix) if len(rows) > PAGE_SIZE else None,
        "newest": _link(None, prefix) if before is not None else None,
    }
    return render(request, "audit_log.html", context)


def _choices(actions: list[str], selected: str) -> list[tuple[str, str]]:
    """(value, label): each kind of action (`integration.`), then each action."""
    kinds = sorted({name.split(".")[0] + "." for name in actions if "." in name})
    choices = [(kind, f"{kind.rstrip('.')}: all") for kind in kinds] + [(name, name) for name in actions]
    if selected and selected not in dict(choices):
        choices.append((selected, f"starting with {selected}"))
    return choices


def _link(before: int | None, action: str) -> str:
    query = {name: value for name, value in (("action", action), ("before", before)) if value}
    return f"{ROOT}/audit-log" + (f"?{urlencode(query)}" if query else "")


def _detail(entry: AuditEntry) -> list[tuple[str, str]]:
    return [(name.replace("_", " "), _words(value)) for name, value in (entry.detail or {}).items()]


def _words(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(_words(item) for item in value) or "none"
    if isinstance(value, dict):
        return ", ".join(f"{name} {_words(item)}" for name, item in value.items())
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "—" if value is None else str(value)
