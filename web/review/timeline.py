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
    E.VENDOR_SESSION_CREATED: lambda _: ("ProctorFree session created", "", "done"),
    E.LEARNER_STARTED: lambda _: ("Learner started", "confirmed and started the proctored session", "done"),
    E.LEARNER_FINISHED: lambda detail: ("Learner finished", _finished_note(detail), "done"),
    E.AWAITING_AUDIT: lambda _: ("Waiting for ProctorFree's audit", "usually within 24 hours", "wait"),
    E.AUDIT: lambda detail: ("Audited", _audit_note(detail), "problem" if _flagged(detail) else "done"),
    E.READY_FOR_REVIEW: lambda _: ("Ready for review", "a reviewer can pass or fail it", "wait"),
    E.DECIDED: lambda detail: (_decided_title(detail), f"by {detail.get('by') or 'a reviewer'}", "decision"),
    E.LESSON_COMPLETED: lambda detail: ("Lesson completed", _completion_note(detail), "done"),
    E.COMPLETION_CONFIRMED: lambda detail: ("Completion confirmed", _completion_note(detail), "done"),
    E.COMPLETED: lambda _: ("Attempt complete", "", "done"),
    E.EXPIRED: lambda _: ("Expired", "the learner never finished within the window", "problem"),
    E.CANCELLED: lambda _: ("Cancelled", "cancelled by ops", "problem"),
    E.PARKED: lambda detail: ("Waiting for ops", str(detail.get("reason", "")), "problem"),
    E.RESUMED: lambda _: ("Resumed", "the integration was fixed", "done"),
    E.EXAM_RESULT_MISSING: lambda _: ("No exam result", "the LMS sent no quiz result in time", "problem"),
}


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
