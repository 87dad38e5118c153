"""How the reviewer UI answers: server-rendered Jinja2 pages, and refusals shown as pages.

Every page gets the signed-in reviewer (for the header), the session's CSRF token (for its
forms) and the one-shot messages left by the previous request (the result of a decision).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

ROOT = "/review"

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")


def when(moment: datetime | str | None, seconds: bool = False) -> str:
    """A time as reviewers read it: in UTC, always labelled."""
    if moment is None:
        return "—"
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC" if seconds else "%Y-%m-%d %H:%M UTC")


def relative(moment: datetime | None, now: datetime | None = None) -> str:
    """How far a time is from now, in words: "in 3 hours", "20 minutes ago" (beside the time
    itself: this alone goes stale as the page stays open)."""
    if moment is None:
        return "—"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    seconds = (moment - (now or datetime.now(UTC))).total_seconds()
    size = abs(seconds)
    if size < 60:
        return "now"
    unit, length = ("day", 86400) if size >= 2 * 86400 else ("hour", 3600) if size >= 3600 else ("minute", 60)
    count = int(size // length)
    amount = f"{count} {unit}{'' if count == 1 else 's'}"
    return f"in {amount}" if seconds > 0 else f"{amount} ago"


def iso(moment: datetime | str | None) -> str:
    if moment is None:
        return ""
    return moment if isinstance(moment, str) else moment.isoformat()


def task_url(task_id: str) -> str:
    return f"{ROOT}/tasks/{quote(task_id, safe='')}"


def progress_url(course_id: str, learner_id: str) -> str:
    return f"{ROOT}/courses/{quote(course_id, safe='')}/learners/{quote(learner_id, safe='')}"


def result_url(course_id: str, learner_id: str, lesson_id: str) -> str:
    return f"{progress_url(course_id, learner_id)}/lessons/{quote(lesson_id, safe='')}/result"


def attempt_url(attempt_id: str) -> str:
    return f"{ROOT}/attempts/{quote(attempt_id, safe='')}"


def accommodations_url(course_id: str) -> str:
    return f"{ROOT}/courses/{quote(course_id, safe='')}/accommodations"


def accommodation_url(course_id: str, learner_id: str) -> str:
    return f"{progress_url(course_id, learner_id)}/accommodation"


def extra_time(accommodation: Any) -> str:
    """An accommodation's extra time in words: "+30 minutes" or "× 1.5"."""
    if accommodation.extra_minutes is not None:
        return f"+{accommodation.extra_minutes} minutes"
    if accommodation.time_multiplier is not None:
        return f"× {accommodation.time_multiplier:g}"
    return "—"


def minutes(value: int | None) -> str:
    return "no time limit" if value is None else f"{value} minute{'' if value == 1 else 's'}"


def sentence(text: str) -> str:
    """A message as a sentence: capitalised, with its full stop."""
    text = text.strip()
    return text[:1].upper() + text[1:] + ("" if text.endswith((".", "!", "?")) else ".")


METHODS = {"full": "Full proctoring", "record_only": "Record only", "practice": "Practice"}
ATTEMPT_STATUSES = {
    "created": "Opened",
    "awaiting_setup": "Awaiting set-up",
    "in_progress": "In progress",
    "finished": "Finished",
    "awaiting_audit": "Awaiting audit",
    "ready_for_review": "Ready for review",
    "passed": "Passed",
    "failed": "Failed",
    "completed": "Completed",
    "expired": "Expired",
    "error": "Error: waiting for ops",
    "voided": "Voided",
}

TEMPLATES.env.filters.update(when=when, iso=iso, extra_time=extra_time, minutes=minutes, relative=relative)
TEMPLATES.env.globals.update(
    ROOT=ROOT,
    METHODS=METHODS,
    ATTEMPT_STATUSES=ATTEMPT_STATUSES,
    task_url=task_url,
    progress_url=progress_url,
    result_url=result_url,
    attempt_url=attempt_url,
    accommodations_url=accommodations_url,
    accommodation_url=accommodation_url,
)


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, status: int = 200
) -> Response:
    """A page for whoever is asking: their session (set up by `auth.ReviewRoute`) supplies the
    CSRF token and the messages to show once."""
    session = getattr(request.state, "review", None)
    page = {
        "reviewer": getattr(request.state, "reviewer", None),
        "csrf_token": session.csrf if session else "",
        "flash": session.take_flash() if session else [],
        **(context or {}),
    }
    response = TEMPLATES.TemplateResponse(request, template, page, status_code=status)
    response.headers["Cache-Control"] = "no-store"  # pages show learners' names and live states
    return response


TITLES = {
    400: "This request cannot be answered",
    403: "This form was refused",
    404: "Not found",
    409: "That cannot be done now",
    422: "Please check what you sent",
    503: "Try again shortly",
}


def message_page(request: Request, status: int, message: str) -> Response:
    """A refusal, said plainly, with the way back."""
    title = TITLES.get(status, "Something went wrong")
    return render(request, "message.html", {"title": title, "message": message}, status=status)
