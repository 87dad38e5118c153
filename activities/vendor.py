"""ProctorFree calls. Credentials and personal data are read and decrypted here, from the
database, so they never travel through a workflow's input or history."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import timedelta
from typing import TypeVar

from temporalio import activity
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from activities import errors
from models.payloads import AuditReport, SessionFinished, VendorCall, VendorSessionRef
from proctorflow import metrics
from proctorflow.crypto import SecretBox
from proctorflow.scrub import scrub
from proctorfree.interface import (
    CredentialsRejected,
    NewSession,
    ProctorFreeBackend,
    RateLimited,
    RequestRejected,
    SessionUnknown,
    UnsafeLink,
    VendorCredentials,
    VendorError,
    VendorSession,
)
from store.db import SessionFactory
from store.vendor_context import VendorContext, vendor_context

T = TypeVar("T")
# A vendor failure's text kept as the attempt's error reason: our words and the vendor's own
# (the client keeps 300 characters of those), scrubbed.
MAX_REASON_CHARS = 500


class VendorActivities:
    def __init__(self, backend: ProctorFreeBackend, sessions: SessionFactory, box: SecretBox) -> None:
        self._backend = backend
        self._sessions = sessions
        self._box = box

    @activity.defn
    async def create_session(self, call: VendorCall) -> VendorSessionRef:
        context, credentials = await self._context(call.attempt_id)
        new = NewSession(
            external_id=call.attempt_id,
            exam_name=context.lesson_title,
            learner_name=context.learner_name,
            learner_email=context.learner_email,
            method=context.method,
            return_url=context.return_url,  # the LMS's exam page, or None: ProctorFree's own page
            time_limit_minutes=call.time_limit_minutes,  # None: ProctorFree's cap for the method
            accommodation_note=context.accommodation_note,
        )
        session = await _vendor(self._backend.create_session(credentials, new))
        return VendorSessionRef(
            session_id=session.session_id,
            setup_url=session.setup_url,
            review_url=session.review_url,
        )

    @activity.defn
    async def check_session_finished(self, call: VendorCall) -> SessionFinished:
        """Fails with NOT_YET until the learner has finished: the retry policy is the poll."""
        _count_poll("finish")
        session = await self._get(call)
        if session.status not in ("finished", "closed") or session.finished_at is None:
            raise ApplicationError(
                f"session {session.session_id} is {session.status}",
                type=errors.NOT_YET,
                category=ApplicationErrorCategory.BENIGN,
            )
        return SessionFinished(capped=session.capped, finished_at=session.finished_at)

    @activity.defn
    async def check_audit(self, call: VendorCall) -> AuditReport:
        """Fails with NOT_YET while ProctorFree is still auditing: the retry policy is the poll."""
        _count_poll("audit")
        session = await self._get(call)
        if session.audit_status != "complete" or session.audit_outcome is None:
            raise ApplicationError(
                f"audit of {session.session_id} is {session.audit_status}",
                type=errors.NOT_YET,
                category=ApplicationErrorCategory.BENIGN,
            )
        return AuditReport(outcome=session.audit_outcome)

    @activity.defn
    async def close_session(self, call: VendorCall) -> None:
        _, credentials = await self._context(call.attempt_id)
        await _vendor(self._backend.close_session(credentials, _session_id(call)))

    @activity.defn
    async def set_time_limit(self, call: VendorCall) -> None:
        """The session's new limit at ProctorFree (staff extended it): the override must reach
        the vendor session, or ProctorFree ends it at the old one."""
        if call.time_limit_minutes is None:
            raise ApplicationError("no time limit to set", non_retryable=True)
        _, credentials = await self._context(call.attempt_id)
        await _vendor(self._backend.set_time_limit(credentials, _session_id(call), call.time_limit_minutes))

    async def _get(self, call: VendorCall) -> VendorSession:
        _, credentials = await self._context(call.attempt_id)
        return await _vendor(self._backend.get_session(credentials, _session_id(call)))

    async def _context(self, attempt_id: str) -> tuple[VendorContext, VendorCredentials]:
        def read() -> VendorContext:
            with self._sessions() as session:
                return vendor_context(session, attempt_id)

        context = await asyncio.to_thread(read)
        credentials = VendorCredentials(
            api_key=self._box.open(context.sealed_api_key),
            api_secret=self._box.open(context.sealed_api_secret),
        )
        return context, credentials


def _session_id(call: VendorCall) -> str:
    if call.session_id is None:
        raise ApplicationError("no ProctorFree session yet", non_retryable=True)
    return call.session_id


def _count_poll(awaiting: str) -> None:
    activity.metric_meter().create_counter(metrics.VENDOR_POLLS, "ProctorFree status checks").add(
        1, {"awaiting": awaiting}
    )


async def _vendor(call: Awaitable[T]) -> T:
    """Await a vendor call, turning its failures into what Temporal should do about them."""
    try:
        return await call
    except VendorError as exc:
        activity.metric_meter().create_counter(metrics.VENDOR_ERRORS, "failed ProctorFree calls").add(
            1, {"kind": type(exc).__name__}
        )
        raise _for_temporal(exc) from exc


def _for_temporal(exc: VendorError) -> ApplicationError:
    """What Temporal keeps of a vendor failure: its kind, and the vendor's text scrubbed of
    anything that looks like an e-mail address, a key or a token (it is stored as the attempt's
    error reason and shown to the LMS and to ops; the failure itself is sealed as well)."""
    if isinstance(exc, CredentialsRejected):
        return ApplicationError(
            "ProctorFree refused the integration's API credentials: rotate them, then resume",
            type=errors.CREDENTIALS_REJECTED,
            non_retryable=True,
        )
    if isinstance(exc, SessionUnknown):  # the id is ours (ProctorFree gave it, the attempt shows it)
        return ApplicationError(
            f"ProctorFree does not know session {exc.session_id[:100]} (it answers 404): "
            "cancel the attempt, or resume it once ProctorFree knows the session again",
            type=errors.REQUEST_REJECTED,
            non_retryable=True,
        )
    if isinstance(exc, UnsafeLink):  # our refusal of its reply, not its refusal of our request
        return ApplicationError(
            scrub(str(exc), MAX_REASON_CHARS), type=errors.REQUEST_REJECTED, non_retryable=True
        )
    if isinstance(exc, RequestRejected):
        return ApplicationError(
            f"ProctorFree refused the request: {scrub(str(exc), MAX_REASON_CHARS)}",
            type=errors.REQUEST_REJECTED,
            non_retryable=True,
        )
    if isinstance(exc, RateLimited):
        return ApplicationError(
            "ProctorFree asked us to slow down",
            type=errors.RATE_LIMITED,
            next_retry_delay=timedelta(seconds=exc.retry_after),
        )
    return ApplicationError(
        f"ProctorFree unavailable: {scrub(str(exc), MAX_REASON_CHARS)}", type=errors.VENDOR_UNAVAILABLE
    )
