"""What the emulator remembers: sessions and their lifecycle, the knobs, the call statistics.

All of it lives in memory and is only touched from the server's event loop, between awaits, so
no locking is needed. Time-driven transitions (the time limit's warning and end, the audit
delay) are applied whenever a session is read and by the app's ticker (`apply_due`), against an
injectable clock, so tests need not sleep.
`changed` (when set) hears of every change to the sessions: dev mode keeps them in a file that
way (`proctorfree.emulator.saved`), and `load` puts them back at start.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Container
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from proctorfree.emulator import limits
from proctorfree.emulator.faults import FaultPlan, Faults
from proctorfree.interface import AuditOutcome, AuditStatus, Method, SessionStatus

Clock = Callable[[], datetime]
# (event type, session, when it happened, the event's own fields: outcome, minutes_left, capped):
# how the webhooks learn of changes.
Listener = Callable[[str, "EmulatedSession", datetime, dict[str, Any]], None]


def utc_now() -> datetime:
    return datetime.now(UTC)


class TransitionError(Exception):
    """The session is not in a state that allows this step."""


@dataclass
class EmulatedSession:
    session_id: str
    api_key: str
    external_id: str
    exam_name: str
    learner_name: str
    learner_email: str
    method: Method
    return_url: str | None  # None: the emulator's own "session started" page
    time_limit_minutes: int | None = None  # None: the method's cap (`limits`)
    accommodation_note: str | None = None  # for the reviewer: shown on the review page only
    warned: bool = False  # the session.warning of the current limit went out
    status: SessionStatus = "created"
    started_at: datetime | None = None
    finished_at: datetime | None = None
    capped: bool = False
    audit_status: AuditStatus = "not_applicable"
    audit_outcome: AuditOutcome | None = None
    checks_since_finish: int = 0


@dataclass
class SessionStats:
    status_checks: int = 0
    creates: int = 0
    closes: int = 0


@dataclass
class Stats:
    api_calls: Counter[str] = field(default_factory=Counter)
    sessions: dict[str, SessionStats] = field(default_factory=dict)
    webhooks_sent: int = 0
    webhooks_failed: int = 0

    def of(self, session_id: str) -> SessionStats:
        return self.sessions.setdefault(session_id, SessionStats())

    def as_json(self) -> dict:
        return {
            "api_calls": dict(self.api_calls),
            "sessions": {sid: vars(s).copy() for sid, s in self.sessions.items()},
            "webhooks_sent": self.webhooks_sent,
            "webhooks_failed": self.webhooks_failed,
        }


class EmulatorState:
    def __init__(self, faults: Faults, clock: Clock | None = None) -> None:
        self.clock: Clock = clock or utc_now
        self.fault_plan = FaultPlan(faults)
        self.stats = Stats()
        self.listeners: list[Listener] = []
        self._sessions: dict[str, EmulatedSession] = {}
        self._by_external_id: dict[tuple[str, str], str] = {}  # (api_key, external_id) -> id
        self.changed: Callable[[], None] | None = None

    def load(self, sessions: list[EmulatedSession]) -> None:
        """Know these sessions again (as saved by an earlier run)."""
        for session in sessions:
            self._sessions[session.session_id] = session
            self._by_external_id[(session.api_key, session.external_id)] = session.session_id

    def sessions(self) -> list[EmulatedSession]:
        return list(self._sessions.values())

    @property
    def knobs(self) -> Faults:
        return self.fault_plan.faults

    def reset(self) -> None:
        self._sessions.clear()
        self._by_external_id.clear()
        self.stats = Stats()
        self.fault_plan.reset()
        self._changed()

    # --- reading -------------------------------------------------------------------------------

    def find(self, session_id: str, api_key: str | None = None) -> EmulatedSession | None:
        """The session, brought up to date; None if unknown (or owned by another api_key)."""
        session = self._sessions.get(session_id)
        if session is None or (api_key is not None and session.api_key != api_key):
            return None
        self.refresh(session)
        return session

    def record_status_check(self, session: EmulatedSession) -> None:
        """An API read: counts towards `audit_ready_after_checks` once the session finished."""
        self.stats.of(session.session_id).status_checks += 1
        if session.finished_at is not None:
            session.checks_since_finish += 1
            self._changed()
        self.refresh(session)

    def refresh(self, session: EmulatedSession) -> None:
        self._apply_due_limit(session)
        self._apply_due_audit(session)

    def apply_due(self, held: Container[str] = ()) -> None:
        """Whatever fell due for every session but the `held` ones: the ticker's sweep, so a
        warning, an end or an audit happens (and its webhook goes out) without anyone reading."""
        for session in list(self._sessions.values()):
            if session.session_id not in held:
                self.refresh(session)

    # --- lifecycle -----------------------------------------------------------------------------

    def create(
        self,
        api_key: str,
        external_id: str,
        exam_name: str,
        learner_name: str,
        learner_email: str,
        method: Method,
        return_url: str | None,
        time_limit_minutes: int | None = None,
        accommodation_note: str | None = None,
    ) -> tuple[EmulatedSession, bool]:
        """Open a session, or return the one already open for this external_id (created=False)."""
        existing_id = self._by_external_id.get((api_key, external_id))
        if existing_id is not None:
            session = self._sessions[existing_id]
            self.refresh(session)
            return session, False
        session = EmulatedSession(
            session_id=f"pf_{uuid.uuid4().hex}",
            api_key=api_key,
            external_id=external_id,
            exam_name=exam_name,
            learner_name=learner_name,
            learner_email=learner_email,
            method=method,
            return_url=return_url,
            time_limit_minutes=time_limit_minutes,
            accommodation_note=accommodation_note,
            audit_status="pending" if method == "full" else "not_applicable",
        )
        self._sessions[session.session_id] = session
        self._by_external_id[(api_key, external_id)] = session.session_id
        self._changed()
        return session, True

    def start(self, session: EmulatedSession) -> None:
        if session.status == "closed":
            raise TransitionError("the session is closed")
        if session.status != "created":
            return  # starting twice (a reload of the start page) is harmless
        session.status = "started"
        session.started_at = self.clock()
        self._emit("session.started", session, session.started_at)
        self.refresh(session)  # a limit of five minutes or less warns at once

    def finish(self, session: EmulatedSession) -> None:
        if session.status == "created":
            raise TransitionError("the session has not started")
        if session.status == "closed" and session.finished_at is None:
            raise TransitionError("the session is closed")
        if session.finished_at is not None:
            return  # already finished: the FINISH confirmation pressed twice
        self._mark_finished(session, at=self.clock())

    def set_time_limit(self, session: EmulatedSession, minutes: int) -> None:
        """Move the limit (counted from the start, as before). A new end more than five minutes
        away earns a new warning; one already past ends the session at once."""
        if session.finished_at is not None or session.status == "closed":
            raise TransitionError(f"the session is {session.status}: its time limit cannot change")
        session.time_limit_minutes = minutes
        warns_at = limits.warns_at(session, self.knobs.minute_seconds)
        if warns_at is None or warns_at > self.clock():
            session.warned = False
        self._changed()
        self.refresh(session)

    def audit(self, session: EmulatedSession, outcome: AuditOutcome) -> None:
        if session.method != "full":
            raise TransitionError(f"a {session.method} session is not audited")
        if session.finished_at is None:
            raise TransitionError("the session has not finished")
        self._complete_audit(session, outcome)

    def close(self, session: EmulatedSession) -> None:
        # Closing keeps started_at/finished_at: a finished session becomes finished-then-closed.
        session.status = "closed"
        self._changed()

    # --- transitions ---------------------------------------------------------------------------

    def _mark_finished(self, session: EmulatedSession, at: datetime, capped: bool = False) -> None:
        session.status = "finished"
        session.finished_at = at
        session.capped = capped
        session.checks_since_finish = 0
        self._emit("session.finished", session, at, capped=capped)
        self._apply_due_audit(session)  # a zero audit delay completes at once

    def _apply_due_limit(self, session: EmulatedSession) -> None:
        """Warn once, five minutes before the end (not when the end has passed already: a
        restarted emulator does not warn of what is over), then end the session, capped."""
        if session.status != "started":
            return
        now, minute = self.clock(), self.knobs.minute_seconds
        end, warning = limits.ends_at(session, minute), limits.warns_at(session, minute)
        assert end is not None and warning is not None
        if not session.warned and warning <= now < end:
            session.warned = True
            minutes_left = limits.warning_minutes(session)
            self._emit("session.warning", session, warning, minutes_left=minutes_left)
        if now >= end:
            self._mark_finished(session, at=end, capped=True)

    def _apply_due_audit(self, session: EmulatedSession) -> None:
        if session.audit_status != "pending" or session.finished_at is None:
            return
        knobs = self.knobs
        delay_passed = self.clock() - session.finished_at >= timedelta(seconds=knobs.audit_delay_seconds)
        checks_needed = knobs.audit_ready_after_checks
        checked_enough = checks_needed is not None and session.checks_since_finish >= checks_needed
        if delay_passed or checked_enough:
            self._complete_audit(session, "clean")

    def _complete_audit(self, session: EmulatedSession, outcome: AuditOutcome) -> None:
        session.audit_status = "complete"
        session.audit_outcome = outcome
        self._emit("audit.completed", session, self.clock(), outcome=outcome)

    def _emit(self, event_type: str, session: EmulatedSession, at: datetime, **fields: Any) -> None:
        self._changed()  # kept before anyone hears of it
        for listener in self.listeners:
            listener(event_type, session, at, fields)

    def _changed(self) -> None:
        if self.changed is not None:
            self.changed()
