"""An attempt's story for the task page, told from its event log in the workflow's order."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from models.rules import proctoring_result
from models.statuses import StepEvent
from models.tables import AttemptEvent

E = StepEvent

AUDIT_OUTCOMES = {
    "clean": "clean",
    "flagged": "flagged by ProctorFree",
    "missing": "did not arrive in time (escalated)",
}


@dataclass(frozen=True)
class Step:
    at: datetime
    title: str
    note: str
    kind: str  # for styling: "done", "wait", "decision", "problem"


Told = tuple[str, str, str]  # title, note, kind

# How each step of the event log is told, from its detail. The bookkeeping notes (a repeated
# exam result or decision, ignored: EXAM_RESULT_IGNORED, DECISION_IGNORED) are not part of the story.
TOLD: dict[StepEvent, Callable[[dict[str, Any]], Told]] = {
    E.OPENED: lambda _: ("Lesson opened", "the learner opened the proctored lesson", "done"),
    E.EXAM_RESULT: lambda detail: ("Exam result received", _exam_note(detail), "done"),
    E.VENDOR_SESSION_CREATED: lambda _: ("ProctorFree session created", "", "done"),
    E.LEARNER_STARTED: lambda _: ("Learner started", "confirmed and started the proctored session", "done"),
    E.LEARNER_FINISHED: lambda detail: ("Learner finished", _finished_note(detail), "done"),
    E.AWAITING_AUDIT: lambda detail: ("Waiting for ProctorFree's audit", _audit_wait_note(detail), "wait"),
    E.AUDIT: lambda detail: ("Audited", _audit_note(detail), "problem" if _flagged(detail) else "done"),
    E.READY_FOR_REVIEW: lambda _: ("Ready for review", "a reviewer can pass or fail it", "wait"),
    E.DECIDED: lambda detail: (_decided_title(detail), f"by {detail.get('by') or 'a reviewer'}", "decision"),
    E.LESSON_COMPLETED: lambda detail: ("Lesson completed", _completion_note(detail), "done"),
    E.COMPLETION_CONFIRMED: lambda detail: ("Completion confirmed", _completion_note(detail), "done"),
    E.COMPLETED: lambda _: ("Attempt complete", "", "done"),
    E.EXPIRED: lambda _: ("Expired", "the learner never finished within the window", "problem"),
    E.CANCELLED: lambda _: ("Cancelled", "cancelled by ops", "problem"),
    E.ABANDONED: lambda detail: ("Abandoned", str(detail.get("reason") or "its workflow ended"), "problem"),
    E.PARKED: lambda detail: ("Waiting for ops", str(detail.get("reason", "")), "problem"),
    E.RESUMED: lambda _: ("Resumed", "the integration was fixed", "done"),
    E.EXAM_RESULT_MISSING: lambda _: ("No exam result", "the LMS sent no quiz result in time", "problem"),
    E.TIME_EXTENDED: lambda detail: ("Time added", _extended_note(detail), "done"),
    E.STAFF_ACTION: lambda detail: (_staff_title(detail), _by(detail), "done"),
    E.VOIDED: lambda detail: (_voided_title(detail), _voided_note(detail), "problem"),
    E.SESSION_NOT_CLOSED: lambda detail: (
        "ProctorFree session not closed",
        str(detail.get("reason") or "ProctorFree refused to close it"),
        "problem",
    ),
    E.CLAIMED: lambda detail: (
        f"Claimed by {detail.get('reviewer', 'a reviewer')}",
        _assigned_by(detail),
        "done",
    ),
    E.RELEASED: lambda detail: (
        f"Released by {detail.get('reviewer', 'its reviewer')}",
        RELEASE_WHY.get(str(detail.get("why")), ""),
        "done",
    ),
    E.REVIEWED: lambda detail: (
        f"First review: {'pass' if detail.get('decision') == 'pass' else 'fail'}",
        f"by {detail.get('reviewer', 'a reviewer')}; a second reviewer must agree",
        "wait",
    ),
    E.ESCALATED: lambda detail: (
        "Escalated",
        "the reviewers disagreed" if detail.get("why") == "disagreement" else "not decided by its deadline",
        "problem",
    ),
}

RELEASE_WHY = {
    "released": "let go by its reviewer",
    "timed out": "the claim ran out of time",
    "reassigned": "given to another reviewer",
    "reviewed": "after their review",
}


def _assigned_by(detail: dict) -> str:
    by = detail.get("by")
    return f"assigned by {by}" if by and by != detail.get("reviewer") else ""


STAFF_TITLES = {"resume": "Resumed by staff", "check_now": "ProctorFree asked now"}


def timeline(events: list[AttemptEvent]) -> list[Step]:
    return [step for step in (_step(event) for event in events) if step is not None]


def _step(event: AttemptEvent) -> Step | None:
    try:
        told = TOLD.get(StepEvent(event.event))
    except ValueError:  # a step name this version does not know
        return None
    if told is None:
        return None  # a bookkeeping note
    title, note, kind = told(event.detail or {})
    return Step(at=event.at, title=title, note=note, kind=kind)


def finished_at(events: list[AttemptEvent]) -> datetime | None:
    return next((event.at for event in events if event.event == E.LEARNER_FINISHED), None)


def _finished_note(detail: dict[str, Any]) -> str:
    if detail.get("capped"):
        return "the practice session hit its 20-minute limit"
    return "pressed FINISH in the ProctorFree window"


def _exam_note(detail: dict[str, Any]) -> str:
    note = "quiz passed" if detail.get("passed") else "quiz failed"
    score = detail.get("score")
    return note if score is None else f"{note}, score {score:g}"


def _flagged(detail: dict[str, Any]) -> bool:
    return bool(detail.get("escalated")) or detail.get("outcome") == "flagged"


def _audit_note(detail: dict[str, Any]) -> str:
    outcome = str(detail.get("outcome", ""))
    return AUDIT_OUTCOMES.get(outcome, outcome)


def _decided_title(detail: dict[str, Any]) -> str:
    return f"Proctoring {proctoring_result(detail.get('decision'))}"  # type: ignore[arg-type]


def _completion_note(detail: dict[str, Any]) -> str:
    parts = ["lesson " + ("passed" if detail.get("lesson_success") else "failed")]
    if detail.get("course_completed"):
        parts.append("course completed")
    if detail.get("certificate_issued"):
        parts.append("certificate issued")
    return ", ".join(parts)


def _staff_title(detail: dict[str, Any]) -> str:
    return STAFF_TITLES.get(str(detail.get("action")), "Staff action")


def _by(detail: dict[str, Any]) -> str:
    """Who acted and why, as staff steps record them."""
    who = f"by {detail.get('by') or 'staff'}"
    reason = str(detail.get("reason") or "").strip()
    return f"{who}: {reason}" if reason else who


def _extended_note(detail: dict[str, Any]) -> str:
    parts = [f"{detail.get('minutes', '?')} minutes {_by(detail)}"]
    if detail.get("allowed_minutes") is not None:
        parts.append(f"the session now has {detail['allowed_minutes']} minutes")
    if detail.get("vendor_not_updated"):
        parts.append(f"ProctorFree did not take the change ({detail['vendor_not_updated']})")
    return "; ".join(parts)


def _voided_title(detail: dict[str, Any]) -> str:
    return "Reset by staff" if detail.get("action") == "reset" else "Voided by staff"


def _voided_note(detail: dict[str, Any]) -> str:
    note = _by(detail)
    if detail.get("action") == "reset":
        note += "; the learner may open the next attempt"
    return note


def audit_escalates_at(events: list[AttemptEvent]) -> datetime | None:
    """When a missing audit is escalated (the workflow's deadline, a setting), as the
    `awaiting_audit` step recorded it."""
    waiting = next((event for event in reversed(events) if event.event == E.AWAITING_AUDIT), None)
    escalates_at = (waiting.detail or {}).get("escalates_at") if waiting is not None else None
    return datetime.fromisoformat(escalates_at) if escalates_at else None


def _audit_wait_note(detail: dict[str, Any]) -> str:
    escalates_at = detail.get("escalates_at")
    if not escalates_at:
        return "usually within 24 hours"
    at = datetime.fromisoformat(escalates_at)
    return f"usually within 24 hours; escalated at {at:%Y-%m-%d %H:%M} UTC if it has not arrived"
