"""Reviewer accounts: scrypt password hashes, never the passwords.

Hashing costs about 16 MiB and tens of milliseconds of CPU on purpose: the web app runs it on
an executor of its own (`web.review.guard`), never on the thread pool its API calls use."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import uuid

from sqlmodel import Session, select

from models.tables import Reviewer
from proctorflow.errors import Conflict
from store import review_sessions

_N, _R, _P = 2**14, 8, 1


def hash_password(password: str) -> str:
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P)
    return "scrypt$" + base64.b64encode(salt).decode() + "$" + base64.b64encode(digest).decode()


def password_matches(password: str, stored: str) -> bool:
    try:
        _, salt_b64, digest_b64 = stored.split("$")
    except ValueError:
        return False
    digest = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt_b64), n=_N, r=_R, p=_P)
    return hmac.compare_digest(digest, base64.b64decode(digest_b64))


MIN_PASSWORD_LENGTH = 8


def create_reviewer(
    session: Session, org_id: str, username: str, password: str, display_name: str = ""
) -> Reviewer:
    _check_password(password)
    if session.exec(select(Reviewer).where(Reviewer.username == username)).first() is not None:
        raise Conflict(f"reviewer {username} exists already")
    reviewer = Reviewer(
        id=str(uuid.uuid4()),
        org_id=org_id,
        username=username,
        password_hash=hash_password(password),
        display_name=display_name or username,
    )
    session.add(reviewer)
    session.flush()
    return reviewer


def authenticate(session: Session, username: str, password: str) -> Reviewer | None:
    reviewer = session.exec(select(Reviewer).where(Reviewer.username == username)).first()
    if reviewer is None:
        hash_password(password)  # the same work either way: timing does not reveal usernames
        return None
    return reviewer if password_matches(password, reviewer.password_hash) else None


def by_username(session: Session, username: str) -> Reviewer | None:
    return session.exec(select(Reviewer).where(Reviewer.username == username)).first()


def change_password(session: Session, reviewer: Reviewer, password: str) -> int:
    """Set a new password and revoke every session of the reviewer (a copied cookie, a browser
    left signed in elsewhere); how many were open."""
    _check_password(password)
    reviewer.password_hash = hash_password(password)
    session.add(reviewer)
    session.flush()
    return review_sessions.revoke_all(session, reviewer.id)


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Conflict(f"a reviewer password needs at least {MIN_PASSWORD_LENGTH} characters")
