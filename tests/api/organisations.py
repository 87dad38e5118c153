"""An organisation of a test's own on the shared stack, with an LMS token whose name the audit
log shows (`catalog.grant_token`)."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx

from store import catalog
from store.db import transaction
from tests.support.stack import Stack


@dataclass
class Org:
    id: str
    token: str
    token_name: str
    api: httpx.AsyncClient


@asynccontextmanager
async def organisation(stack: Stack, token_name: str = "LMS production") -> AsyncIterator[Org]:
    org_id, token = f"org-{uuid.uuid4().hex[:8]}", f"tok-{uuid.uuid4().hex}"
    with transaction(stack.sessions) as session:
        catalog.ensure_organisation(session, org_id, "Audited organisation")
        catalog.grant_token(session, org_id, token, name=token_name)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=f"{stack.base_url}/api/v1", headers=headers, timeout=30) as api:
        yield Org(org_id, token, token_name, api)


async def audit_log(api: httpx.AsyncClient, page: int = 500) -> list[dict]:
    """Every entry of the caller's organisation, oldest first, read page by page."""
    found: list[dict] = []
    after = None
    while True:
        params = {"limit": page} | ({"after": after} if after is not None else {})
        reply = await api.get("/audit-log", params=params)
        assert reply.status_code == 200, reply.text
        body = reply.json()
        found += body["entries"]
        if len(body["entries"]) < page:
            return found
        after = body["next_cursor"]


def of_action(entries: list[dict], action: str) -> list[dict]:
    return [entry for entry in entries if entry["action"] == action]


def assert_nothing_of(entries: list[dict], *words: str) -> None:
    """None of these (secrets, tokens, e-mail addresses, notes) anywhere in the entries."""
    text = json.dumps(entries)
    for word in words:
        assert word not in text, f"{word!r} is in the audit log"
