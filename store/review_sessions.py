"""Reviewer sessions, kept server-side: the cookie carries a random token, the table its SHA-256.

A session is valid until it expires or is revoked (logout, a password change, `proctorflow
revoke-sessions`); a revoked one stays refused even if its cookie was copied. Rows of sessions
that ended long ago are pruned when their reviewer signs in again.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlmodel import Session, col, delete, select, update

from models.tables import Reviewer, ReviewerSession, utcnow

TOKEN_BYTES = 32
# last_seen_at is written at most this often per session (not on every page).
SEEN_EVERY = timedelta(minutes=1)
# Ended sessions are kept this long (for the record), then pruned.
KEEP_ENDED = timedelta(days=30)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(session: Session, reviewer_id: str, lifetime: timedelta) -> tuple[str, ReviewerSession]:
    """A new session for the reviewer: its token (for the cookie only) and its row."""
    now = utcnow()
    session.exec(
        delete(ReviewerSession).where(
            col(ReviewerSession.reviewer_id) == reviewer_id,
            col(ReviewerSession.expires_at) < now - KEEP_ENDED,
        )
    )
    token = secrets.token_urlsafe(TOKEN_BYTES)
    row = ReviewerSession(
        id=digest(token), reviewer_id=reviewer_id, created_at=now, last_seen_at=now, expires_at=now + lifetime
    )
    session.add(row)
    session.flush()
    return token, row


def active(
    session: Session, token: str, now: datetime | None = None
) -> tuple[ReviewerSession, Reviewer] | None:
    """The session a token opens and its reviewer, or None when it is unknown, expired or
    revoked. Records when it was last seen (at most once a minute; the caller commits)."""
    now = now or utcnow()
    found = session.exec(
        select(ReviewerSession, Reviewer)
        .join(Reviewer, col(Reviewer.id) == col(ReviewerSession.reviewer_id))
        .where(col(ReviewerSession.id) == digest(token))
    ).first()
    if found is None:
        return None
    row, reviewer = found
    if row.revoked_at is not None or row.expires_at <= now:
        return None
    if now - row.last_seen_at >= SEEN_EVERY:
        seen = update(ReviewerSession).where(col(ReviewerSession.id) == row.id).values(last_seen_at=now)
        session.exec(seen)
    return row, reviewer


def revoke(session: Session, token: str) -> bool:
    """End the session a token opens; False if it had ended already."""
    result = session.exec(
        update(ReviewerSession)
        .where(col(ReviewerSession.id) == digest(token), col(ReviewerSession.revoked_at).is_(None))
        .values(revoked_at=utcnow())
    )
    return result.rowcount > 0


def revoke_all(session: Session, reviewer_id: str) -> int:
    """End every open session of the reviewer; how many were open."""
    now = utcnow()
    result = session.exec(
        update(ReviewerSession)
        .where(
            col(ReviewerSession.reviewer_id) == reviewer_id,
            col(ReviewerSession.revoked_at).is_(None),
            col(ReviewerSession.expires_at) > now,
        )
        .values(revoked_at=now)
    )
    return result.rowcount
