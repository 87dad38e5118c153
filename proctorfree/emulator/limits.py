"""A session's time limit as the emulator enforces it: the minutes asked for, or the method's cap
(ProctorFree ends every session there), counted from the start in emulated minutes, so a test
or a demo can run a "10-minute" session in seconds (`minute_seconds`)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from models.time_limits import VENDOR_CAP_MINUTES
from proctorfree.interface import Method

if TYPE_CHECKING:
    from proctorfree.emulator.state import EmulatedSession

WARNING_MINUTES = 5  # the session.warning goes out this long before the end


def cap_minutes(method: Method) -> int:
    return VENDOR_CAP_MINUTES[method]


def limit_refusal(method: Method, minutes: int) -> str | None:
    """Why ProctorFree would refuse this limit for the method, or None."""
    cap = cap_minutes(method)
    if minutes > cap:
        return f"time_limit_minutes {minutes} is over the {cap}-minute cap of {method} sessions"
    return None


def limit_minutes(session: EmulatedSession) -> int:
    if session.time_limit_minutes is not None:
        return session.time_limit_minutes
    return cap_minutes(session.method)


def warning_minutes(session: EmulatedSession) -> int:
    """What the warning tells the learner: five minutes left, or the whole of a shorter limit."""
    return min(WARNING_MINUTES, limit_minutes(session))


def ends_at(session: EmulatedSession, minute_seconds: float) -> datetime | None:
    if session.started_at is None:
        return None
    return session.started_at + _minutes(limit_minutes(session), minute_seconds)


def warns_at(session: EmulatedSession, minute_seconds: float) -> datetime | None:
    end = ends_at(session, minute_seconds)
    if end is None:
        return None
    return end - _minutes(warning_minutes(session), minute_seconds)


def _minutes(count: int, minute_seconds: float) -> timedelta:
    return timedelta(seconds=count * minute_seconds)
