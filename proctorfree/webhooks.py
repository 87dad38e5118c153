"""ProctorFree's webhook signature (modelled) and the event it carries.

A webhook is signed as `v1=<hex HMAC-SHA256(secret, "<timestamp>." + body)>`, with the Unix
timestamp in its own header. Binding the timestamp into the MAC lets a receiver refuse replays of
an old delivery; deduplicating on `event_id` within the tolerance window is the receiver's job.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import datetime
from typing import Literal

from pydantic import BaseModel

TIMESTAMP_HEADER = "X-ProctorFree-Timestamp"
SIGNATURE_HEADER = "X-ProctorFree-Signature"
SIGNATURE_SCHEME = "v1="
MAX_TIMESTAMP_DIGITS = 12  # seconds until the year 33658
TIMESTAMP = re.compile(f"[0-9]{{1,{MAX_TIMESTAMP_DIGITS}}}")

EventType = Literal["session.started", "session.warning", "session.finished", "audit.completed"]


class WebhookEvent(BaseModel):
    event_id: str
    type: EventType
    session_id: str
    external_id: str
    occurred_at: datetime
    outcome: Literal["clean", "flagged"] | None = None  # set on audit.completed only
    minutes_left: int | None = None  # set on session.warning only: the learner was told so
    capped: bool | None = None  # set on session.finished only: ended at its time limit, not by FINISH


class WebhookSignatureError(Exception):
    """The delivery is not provably from ProctorFree, or is too old (or too new) to accept."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return SIGNATURE_SCHEME + mac.hexdigest()


def verify(
    secret: str,
    timestamp_header: str | None,
    signature_header: str | None,
    body: bytes,
    now: float,
    tolerance_seconds: int = 300,
) -> None:
    """Return when the signature is valid and fresh; raise WebhookSignatureError otherwise."""
    timestamp = _parse_timestamp(timestamp_header)
    if signature_header is None or not signature_header.strip():
        raise WebhookSignatureError(f"missing {SIGNATURE_HEADER} header")
    if not signature_header.strip().startswith(SIGNATURE_SCHEME):
        raise WebhookSignatureError(f"{SIGNATURE_HEADER} is not a {SIGNATURE_SCHEME} signature")
    # Check freshness before the MAC so a replayed (validly signed) old delivery is refused too.
    if abs(now - timestamp) > tolerance_seconds:
        raise WebhookSignatureError(
            f"timestamp is {now - timestamp:+.0f}s away from now (tolerance {tolerance_seconds}s)"
        )
    expected = sign(secret, timestamp, body)
    if not hmac.compare_digest(expected.encode(), signature_header.strip().encode()):
        raise WebhookSignatureError("signature does not match the body")


def _parse_timestamp(header: str | None) -> int:
    """Whole seconds, ASCII digits only: `int()` alone would take "-1", "1_0" or Arabic digits,
    and a 400-digit number that no float holds (comparing it with the clock overflowed)."""
    if header is None or not header.strip():
        raise WebhookSignatureError(f"missing {TIMESTAMP_HEADER} header")
    if TIMESTAMP.fullmatch(header.strip()) is None:
        raise WebhookSignatureError(
            f"{TIMESTAMP_HEADER} is not a Unix timestamp "
            f"(whole seconds, at most {MAX_TIMESTAMP_DIGITS} digits)"
        )
    return int(header.strip())
