"""LMS API tokens: each organisation's, made, listed and revoked through the API, plus the
default organisation's bootstrap token from PROCTORFLOW_LMS_TOKEN.

Only a token's SHA-256 is kept (it finds the token) and its first few characters (they let
people recognise it in a list); the token itself is shown once, when it is made. An
organisation always keeps at least one token, and the bootstrap token goes only when a new
PROCTORFLOW_LMS_TOKEN replaces it."""

from __future__ import annotations

import hashlib
import logging
import secrets
import uuid
from datetime import datetime, timedelta

from sqlalchemy import func, or_, update
from sqlmodel import Session, select

from models.tables import ApiToken, Organisation, utcnow
from proctorflow.errors import Conflict, Invalid, NotFound

log = logging.getLogger("proctorflow.tokens")

TOKEN_PREFIX = "pf_"
BOOTSTRAP_NAME = "PROCTORFLOW_LMS_TOKEN"
PREFIX_CHARS = 8
# `last_used_at` is written at most this often per token, not on every call.
TOUCH_EVERY = timedelta(minutes=1)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    """256 random bits, recognisable as ProctorFlow's by its `pf_`."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def recognisable_prefix(token: str) -> str:
    """Its first 8 characters, but never more than a quarter of it: a short token (an operator's
    own PROCTORFLOW_LMS_TOKEN) keeps most of itself secret."""
    return token[: min(PREFIX_CHARS, len(token) // 4)]


def add(session: Session, org_id: str, token: str, name: str, bootstrap: bool = False) -> ApiToken:
    row = ApiToken(
        token_sha256=token_digest(token),
        id=str(uuid.uuid4()),
        org_id=org_id,
        name=name,
        prefix=recognisable_prefix(token),
        bootstrap=bootstrap,
    )
    session.add(row)
    session.flush()
    return row


def create(session: Session, org_id: str, name: str) -> tuple[ApiToken, str]:
    """A new random token for the organisation: its row, and the token (shown once)."""
    token = new_token()
    return add(session, org_id, token, name), token


def list_tokens(session: Session, org_id: str) -> list[ApiToken]:
    return list(
        session.exec(
            select(ApiToken).where(ApiToken.org_id == org_id).order_by(ApiToken.created_at, ApiToken.id)
        )
    )


def revoke(session: Session, org_id: str, token_id: str) -> ApiToken:
    """Delete one of the organisation's tokens; returns its row (its digest lets a cache forget
    it). Another organisation's token is not found; the last one and the bootstrap token stay."""
    _lock(session, org_id)
    row = session.exec(select(ApiToken).where(ApiToken.id == token_id, ApiToken.org_id == org_id)).first()
    if row is None:
        raise NotFound(f"token {token_id} does not exist (GET /tokens lists this organisation's tokens)")
    if row.bootstrap:
        raise Conflict(
            f"token {token_id} is PROCTORFLOW_LMS_TOKEN, which the web app restores at every start: "
            "set a new PROCTORFLOW_LMS_TOKEN to replace it",
            {"token_id": token_id, "bootstrap": True},
        )
    others = session.exec(
        select(func.count()).select_from(ApiToken).where(ApiToken.org_id == org_id, ApiToken.id != token_id)
    ).one()
    if others == 0:
        raise Conflict(
            f"token {token_id} is the organisation's last token: create another (POST /tokens), move "
            "the LMS to it, then delete this one",
            {"token_id": token_id, "tokens_left": 1},
        )
    session.delete(row)
    session.flush()
    return row


def replace_bootstrap(session: Session, org_id: str, token: str) -> None:
    """Make `token` the organisation's bootstrap token, deleting the one it replaces: a changed
    PROCTORFLOW_LMS_TOKEN leaves the previous value invalid (within the token cache time)."""
    _lock(session, org_id)
    digest = token_digest(token)
    existing = session.get(ApiToken, digest)
    if existing is not None and existing.org_id != org_id:
        raise Invalid(
            f"PROCTORFLOW_LMS_TOKEN is already a token of organisation {existing.org_id}: give the "
            f"{org_id} organisation a token of its own"
        )
    previous = session.exec(
        select(ApiToken).where(ApiToken.org_id == org_id, ApiToken.bootstrap, ApiToken.token_sha256 != digest)
    ).all()
    for row in previous:
        session.delete(row)
    if previous:
        log.info("PROCTORFLOW_LMS_TOKEN changed: the previous bootstrap token of %s no longer works", org_id)
    if existing is None:
        add(session, org_id, token, BOOTSTRAP_NAME, bootstrap=True)
    elif not existing.bootstrap:
        existing.bootstrap = True
        session.add(existing)
    session.flush()


def org_for_token(session: Session, token: str) -> str | None:
    found = session.get(ApiToken, token_digest(token))
    return found.org_id if found else None


def touch(session: Session, digest: str, now: datetime | None = None) -> bool:
    """Note the token as used now, unless it was within the last minute (whoever noted it:
    several web processes write it about once a minute in all). True when it was written."""
    now = now or utcnow()
    result = session.execute(
        update(ApiToken)
        .where(
            ApiToken.token_sha256 == digest,
            or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at < now - TOUCH_EVERY),  # type: ignore[union-attr]
        )
        .values(last_used_at=now)
    )
    return bool(result.rowcount)


def _lock(session: Session, org_id: str) -> None:
    """Hold the organisation's row while its tokens change, so two deletes at once cannot both
    see the other's token and leave none (PostgreSQL; SQLite has one writer at a time)."""
    session.exec(select(Organisation.id).where(Organisation.id == org_id).with_for_update()).first()
