"""The vendor backend interface: what ProctorFlow needs from a remote-proctoring service.

ProctorFree's API is not public. Everything about its wire format lives in `client.py`; the
rest of ProctorFlow speaks only this interface, so mapping the real endpoints from
ProctorFree's onboarding documents touches one file.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal, Protocol

from pydantic import BaseModel, SecretStr

Method = Literal["full", "record_only", "practice"]
SessionStatus = Literal["created", "started", "finished", "closed"]
AuditStatus = Literal["pending", "complete", "not_applicable"]
AuditOutcome = Literal["clean", "flagged"]


class VendorCredentials(BaseModel):
    api_key: str
    api_secret: SecretStr


class NewSession(BaseModel):
    """What ProctorFree needs to open a proctored session for one attempt."""

    external_id: str  # the attempt id; ProctorFree returns the same session for the same id
    exam_name: str
    learner_name: str
    learner_email: str
    method: Method
    # Where "confirm and start" sends the learner: the LMS's exam page. None: ProctorFree's own
    # page telling the learner the session has started and the window may be closed.
    return_url: str | None = None
    # The session's minutes; None: ProctorFree's cap for the method (it ends the session there).
    time_limit_minutes: int | None = None
    # For ProctorFree's reviewer (why this learner has more time); may tell of a disability.
    accommodation_note: str | None = None


class VendorSession(BaseModel):
    session_id: str
    external_id: str
    method: Method
    status: SessionStatus
    setup_url: str  # the learner's "Set up Proctoring" target
    review_url: str  # the reviewer's "Review in Proctoring Service" target
    started_at: datetime | None = None
    finished_at: datetime | None = None
    time_limit_minutes: int | None = None  # the minutes ProctorFree allows (its cap when none was asked)
    capped: bool = False  # ProctorFree ended the session at its time limit, not the learner's FINISH
    audit_status: AuditStatus
    audit_outcome: AuditOutcome | None = None


class ProctorFreeBackend(Protocol):
    async def verify_credentials(self, credentials: VendorCredentials) -> None:
        """Return when ProctorFree accepts the credentials; raise CredentialsRejected if not."""

    async def create_session(self, credentials: VendorCredentials, new: NewSession) -> VendorSession: ...

    async def get_session(self, credentials: VendorCredentials, session_id: str) -> VendorSession: ...

    async def close_session(self, credentials: VendorCredentials, session_id: str) -> VendorSession: ...

    async def set_time_limit(
        self, credentials: VendorCredentials, session_id: str, time_limit_minutes: int
    ) -> VendorSession:
        """Move a session's limit (staff extend a running session); RequestRejected when it is
        over the method's cap or the session has finished or closed."""


class VendorError(Exception):
    """Base of every failure talking to ProctorFree."""


class CredentialsRejected(VendorError):
    """ProctorFree refused the API credentials (bad, revoked). Retrying will not help."""


class VendorUnavailable(VendorError):
    """5xx, timeout or connection failure: worth retrying."""


class RateLimited(VendorError):
    """429: retry after `retry_after` seconds."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class MalformedResponse(VendorError):
    """The vendor answered 2xx with a body we cannot read: worth retrying."""


class RequestRejected(VendorError):
    """Any other 4xx: our request is wrong (unknown session, invalid field). Not retried."""


class SessionUnknown(RequestRejected):
    """404 for a session: ProctorFree does not know it (lost on its side, or opened under another
    account's key). Not retried: the attempt parks with the reason."""

    def __init__(self, message: str, session_id: str) -> None:
        super().__init__(message)
        self.session_id = session_id


class UnsafeLink(RequestRejected):
    """ProctorFree answered with a link (setup_url, review_url) that is not https nor on its
    configured origin: not shown to anyone, and not retried (the attempt parks with the reason)."""
