"""An attempt's story for the task page, told from its event log in the workflow's order."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from models.tables import AttemptEvent

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


def timeline(events: list[AttemptEvent]) -> list[Step]:
    return [step for step in (_step(event) for event in events) if step is not None]


def _step(event: AttemptEvent) -> Step | None:
    detail: dict[str, Any] = event.detail or {}
    named = {
        "opened": ("Lesson opened", "the learner opened the proctored lesson", "done"),
        "vendor_session_created": ("ProctorFree session created", "", "done"),
        "learner_started": ("Learner started", "confirmed and started the proctored session", "done"),
        "learner_finished": ("Learner finished", _finished_note(detail), "done"),
        "awaiting_audit": ("Waiting for ProctorFree's audit", "usually within 24 hours", "wait"),
        "audit": ("Audited", _audit_note(detail), "problem" if _flagged(detail) else "done"),
        "ready_for_review": ("Ready for review", "a reviewer can pass or fail it", "wait"),
        "decided": (_decided_title(detail), f"by {detail.get('by') or 'a reviewer'}", "decision"),
        "lesson_completed": ("Lesson completed", _completion_note(detail), "done"),
        "completion_confirmed": ("Completion confirmed", _completion_note(detail), "done"),
        "completed": ("Attempt complete", "", "done"),
        "expired": ("Expired", "the learner never finished within the window", "problem"),
        "parked": ("Waiting for ops", str(detail.get("reason", "")), "problem"),
        "resumed": ("Resumed", "the integration was fixed", "done"),
        "exam_result_missing": ("No exam result", "the LMS sent no quiz result in time", "problem"),
    }
    if event.event not in named:
        return None  # bookkeeping notes (ignored repeats) are not part of the story
    title, note, kind = named[event.event]
    return Step(at=event.at, title=title, note=note, kind=kind)


def finished_at(events: list[AttemptEvent]) -> datetime | None:
    return next((event.at for event in events if event.event == "learner_finished"), None)


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
    return "Proctoring passed" if detail.get("decision") == "pass" else "Proctoring failed"


def _completion_note(detail: dict[str, Any]) -> str:
    parts = ["lesson " + ("passed" if detail.get("lesson_success") else "failed")]
    if detail.get("course_completed"):
        parts.append("course completed")
    if detail.get("certificate_issued"):
        parts.append("certificate issued")
    return ", ".join(parts)
