"""E-mail notices, sent: the dispatcher, one try of one notice, giving up, and the daily digest
(`workflows/notices.py` runs them on the events' task queue).

**Never twice for one notice.** A notice is one workflow (`notice-<id>`), so its tries come one
after another. Each try first counts itself on the notice's row, in the same statement that checks
the notice is still pending (`store.notices.claim_try`): a try after the one that sent it sends
nothing. It marks the notice sent as soon as the SMTP server accepted the message, after keeping
that acceptance in the activity's heartbeat, so when the database refuses the mark, the next try
marks it without sending again. Every try of a notice carries the same Message-ID
(`models.notices.message_id`). What remains: a worker killed (or a database lost) in the moment
between the server's acceptance and both the heartbeat and the mark reaching Temporal and the
database sends the notice a second time, with the same Message-ID, by which mail clients and
archives can tell the copy. A worker killed before the server accepted (mid-DATA, say) sends it
once: the server never took the first.

A try that is cancelled while the message is on its way (its worker stops, or Temporal gave up
on its heartbeat) still waits for the server's answer and records an acceptance before it ends.

The SMTP server's refusal of every recipient or of the message for good fails the notice at once;
anything else is tried again with backoff for a day, then the notice fails. The reason kept is
scrubbed (`proctorflow.scrub`): an SMTP reply may quote the address. Only notice ids travel
through the workflows' histories.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from temporalio import activity
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError

from models import notices as words
from models.tables import Notice
from proctorflow import mail
from proctorflow.settings import Settings
from store import notices
from store.db import SessionFactory, transaction

log = logging.getLogger("proctorflow.notices")

NOT_SENT = "NoticeNotSent"
REFUSED = "NoticeRefused"
DISPATCH_EVERY = 1.0  # seconds between looks for pending notices
HEARTBEAT_EVERY = 2.0  # seconds between a try's heartbeats while the server has the message
ACCEPTED = "accepted"


@dataclass(frozen=True)
class NoticeFailure:
    notice_id: str
    reason: str


def unusable_reason(settings: Settings) -> str | None:
    """Why this worker cannot send e-mail (then notices are kept pending), or None."""
    if not settings.smtp_url:
        return "PROCTORFLOW_SMTP_URL is not set"
    if not settings.smtp_sender:
        return "PROCTORFLOW_SMTP_SENDER (the From address) is not set"
    try:
        mail.parse_smtp_url(settings.smtp_url)
    except ValueError as error:
        return f"PROCTORFLOW_SMTP_URL cannot be used: it {error}"
    return None


class NoticeActivities:
    def __init__(self, sessions: SessionFactory, settings: Settings) -> None:
        self._sessions = sessions
        self._task_queue = settings.event_task_queue
        self._public_url = settings.public_url.rstrip("/")
        self._timeout = settings.smtp_timeout
        self._sender = settings.smtp_sender or ""
        self._retry = (settings.notice_first_retry, settings.notice_max_retry)
        self._unusable = unusable_reason(settings)
        self._target = mail.parse_smtp_url(settings.smtp_url or "") if self._unusable is None else None

    # --- The dispatcher --------------------------------------------------------------------

    @activity.defn
    async def dispatch_notices(self) -> None:
        """Until its worker stops, start the workflow of each pending notice it has not started
        yet (a pending notice whose workflow runs, retrying, is not started again). A new
        dispatcher starts every pending notice's workflow again: one that runs already is left
        as it is (`USE_EXISTING`). Without a usable SMTP setting it starts none and says why,
        once."""
        from workflows.notices import NoticeInput, NoticeWorkflow, notice_workflow_id

        started: set[str] = set()
        told = False
        while True:
            if self._unusable is not None:
                if not told:
                    waiting = await asyncio.to_thread(self._read, notices.count_pending)
                    log.warning(
                        "%s: e-mail notices are kept pending (%d now), none is sent until it is set",
                        self._unusable,
                        waiting,
                    )
                    told = True
            else:
                pending = await asyncio.to_thread(self._read, notices.pending_ids)
                client = activity.client()
                for notice_id in pending:
                    if notice_id in started:
                        continue
                    first, longest = self._retry
                    await client.start_workflow(
                        NoticeWorkflow.run,
                        NoticeInput(
                            notice_id=notice_id, first_retry_seconds=first, max_retry_seconds=longest
                        ),
                        id=notice_workflow_id(notice_id),
                        task_queue=self._task_queue,
                        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                    )
                started = set(pending)
            activity.heartbeat(len(started))
            try:
                await asyncio.wait_for(activity.wait_for_worker_shutdown(), DISPATCH_EVERY)
            except TimeoutError:
                continue
            return  # its worker stops: the workflow runs it again, on another worker

    # --- One notice ------------------------------------------------------------------------

    @activity.defn
    async def send_notice(self, notice_id: str) -> str:
        """One try: "sent", or "done already" when an earlier try sent it (or it failed)."""
        accepted = _accepted_before(activity.info().heartbeat_details)
        if accepted is not None:
            # An earlier try was accepted but its mark failed: mark it now, never send again.
            at, note = accepted
            activity.heartbeat(ACCEPTED, at.isoformat(), note or "")  # kept for a try after this one
            await asyncio.to_thread(self._write, lambda s: notices.mark_sent(s, notice_id, at, note))
            return "sent"
        if self._target is None:
            raise ApplicationError(f"{self._unusable}: the notice is kept pending", type=NOT_SENT)
        outgoing = await asyncio.to_thread(self._write, lambda s: notices.claim_try(s, notice_id))
        if outgoing is None:
            return "done already"
        at = datetime.now(UTC)
        message = mail.build_message(
            message_id=words.message_id(outgoing.id, self._sender),
            sender=self._sender,
            sender_name=outgoing.sender_name,
            to=outgoing.to_address,
            subject=outgoing.subject.replace(words.PUBLIC_URL, self._public_url),
            body=outgoing.body.replace(words.PUBLIC_URL, self._public_url),
            at=at,
            language=outgoing.locale,
        )
        sending = asyncio.ensure_future(asyncio.to_thread(mail.send, self._target, message, self._timeout))
        try:
            while not sending.done():
                await asyncio.wait({sending}, timeout=HEARTBEAT_EVERY)
                activity.heartbeat()  # alive: a killed worker's try is taken over after the timeout
        except asyncio.CancelledError:
            # The message may be on its way: wait for the server's answer, record an acceptance.
            with contextlib.suppress(Exception):
                note = await sending
                await asyncio.to_thread(self._write, lambda s: notices.mark_sent(s, notice_id, at, note))
            raise
        try:
            note = sending.result()
        except (mail.Refused, mail.NotSent) as failed:
            reason, for_good = str(failed), isinstance(failed, mail.Refused)
            await asyncio.to_thread(self._write, lambda s: notices.record_failure(s, notice_id, reason))
            raise ApplicationError(
                reason, type=REFUSED if for_good else NOT_SENT, non_retryable=for_good
            ) from None
        # Kept by Temporal for this notice's next try, should the mark below fail.
        activity.heartbeat(ACCEPTED, at.isoformat(), note or "")
        await asyncio.to_thread(self._write, lambda s: notices.mark_sent(s, notice_id, at, note))
        return "sent"

    @activity.defn
    async def give_up_notice(self, failure: NoticeFailure) -> None:
        def give_up(session) -> None:
            notice = session.get(Notice, failure.notice_id)
            last = notice.last_error if notice is not None else None
            reason = (
                failure.reason
                if not last or last in failure.reason
                else f"{failure.reason}; last try: {last}"
            )
            notices.give_up(session, failure.notice_id, reason)

        await asyncio.to_thread(self._write, give_up)

    # --- The reviewers' digest -------------------------------------------------------------

    @activity.defn
    async def queue_digests(self, day: str) -> int:
        """The day's digests queued (the dispatcher sends them); how many."""
        queued = await asyncio.to_thread(
            self._write, lambda s: notices.queue_digests(s, date.fromisoformat(day))
        )
        return len(queued)

    def _read(self, read):
        with self._sessions() as session:
            return read(session)

    def _write(self, write):
        with transaction(self._sessions) as session:
            return write(session)


def _accepted_before(details: Sequence[Any]) -> tuple[datetime, str | None] | None:
    """When an earlier try's message was accepted (and what the server refused of it), from the
    heartbeat details that try left; None when no earlier try got that far."""
    if len(details) != 3 or details[0] != ACCEPTED:
        return None
    return datetime.fromisoformat(details[1]), details[2] or None
