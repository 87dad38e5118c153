"""Time limits and accommodations, as pure functions: how many minutes a learner has at
ProctorFree for one attempt, and what to warn about when a limit cannot be honoured.

ProctorFree caps every session: "the practice exams are limited to 20 minutes"; schools report
3.5 hours for full and record-only sessions. A limit, however long an accommodation makes it,
never goes past the vendor's cap: ProctorFree would end the session there anyway, and an LMS
override that does not reach the vendor session is the trap this module exists to avoid.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, model_validator

Method = Literal["full", "record_only", "practice"]

VENDOR_CAP_MINUTES: dict[Method, int] = {"practice": 20, "full": 210, "record_only": 210}
MAX_MULTIPLIER = 4.0
MAX_EXTRA_MINUTES = 600
MAX_EXTEND_MINUTES = 240


class AccommodationTerms(BaseModel):
    """Extra time for one learner in one course: minutes added or a multiplier of the lesson's
    limit (one of the two), for some proctored lessons or all, until an optional expiry."""

    extra_minutes: int | None = Field(default=None, ge=1, le=MAX_EXTRA_MINUTES)
    time_multiplier: float | None = Field(default=None, gt=1.0, le=MAX_MULTIPLIER)
    lesson_ids: list[str] | None = None  # None: every proctored lesson of the course
    expires_at: datetime | None = None

    @model_validator(mode="after")
    def _one_kind_of_extra_time(self) -> AccommodationTerms:
        if (self.extra_minutes is None) == (self.time_multiplier is None):
            raise ValueError("give extra_minutes or time_multiplier (one of the two)")
        return self


def applies(terms: AccommodationTerms | None, lesson_id: str, now: datetime) -> bool:
    if terms is None:
        return False
    if terms.expires_at is not None and terms.expires_at <= now:
        return False
    return terms.lesson_ids is None or lesson_id in terms.lesson_ids


def allowed_minutes(
    method: Method,
    time_limit_minutes: int | None,
    terms: AccommodationTerms | None,
    lesson_id: str,
    now: datetime,
) -> int | None:
    """The learner's minutes at ProctorFree for an attempt opened `now`; None: no limit but the
    vendor's own for full and record-only sessions (a practice session always has its 20)."""
    cap = VENDOR_CAP_MINUTES[method]
    base = time_limit_minutes if time_limit_minutes is not None else (cap if method == "practice" else None)
    if base is None:
        return None
    if applies(terms, lesson_id, now):
        assert terms is not None
        if terms.extra_minutes is not None:
            base += terms.extra_minutes
        else:
            base = math.ceil(base * (terms.time_multiplier or 1.0))
    return min(base, cap)


def limit_warnings(method: Method, time_limit_minutes: int | None) -> list[str]:
    """What the lesson's settings reply warns about: a limit past ProctorFree's cap."""
    cap = VENDOR_CAP_MINUTES[method]
    if time_limit_minutes is not None and time_limit_minutes > cap:
        return [
            f"time_limit_minutes {time_limit_minutes} is over ProctorFree's cap of {cap} minutes for "
            f"{method} sessions: learners get {cap}"
        ]
    if method == "practice" and time_limit_minutes is not None:
        return [
            "practice sessions end at ProctorFree's 20 minutes whatever a learner's accommodation: "
            "use full or record_only for a lesson that needs more time"
        ]
    return []


def open_warnings(
    method: Method, time_limit_minutes: int | None, allowed: int | None, accommodated: bool
) -> list[str]:
    """What `POST /attempts/open` warns about: the learner has ProctorFree's cap, less than the
    lesson's limit or the accommodation would give."""
    cap = VENDOR_CAP_MINUTES[method]
    over_limit = time_limit_minutes is not None and time_limit_minutes > cap
    if allowed == cap and (over_limit or accommodated):
        return [f"ProctorFree caps {method} sessions at {cap} minutes: the learner has {cap}"]
    return []


def accommodation_warnings(method: Method, time_limit_minutes: int | None, extended: int | None) -> list[str]:
    """Why an accommodation gives a learner less than it says: the vendor's cap, or a lesson
    without a limit (nothing to extend)."""
    if time_limit_minutes is None and method != "practice":
        return ["the lesson has no time limit: the accommodation changes nothing until it gets one"]
    cap = VENDOR_CAP_MINUTES[method]
    if extended is not None and extended >= cap:
        return [f"ProctorFree caps {method} sessions at {cap} minutes: the learner gets {cap}"]
    return []


def extend_refusal(method: Method, allowed: int | None, minutes: int) -> str | None:
    """Why `minutes` cannot be added to a running session that has `allowed` minutes."""
    if allowed is None:
        return "this attempt has no time limit: there is nothing to extend"
    cap = VENDOR_CAP_MINUTES[method]
    if allowed >= cap:
        return f"the session already has ProctorFree's cap of {cap} minutes for {method} sessions"
    if allowed + minutes > cap:
        return (
            f"ProctorFree caps {method} sessions at {cap} minutes: at most {cap - allowed} more "
            f"minutes can be added to this one's {allowed}"
        )
    return None
