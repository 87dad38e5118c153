"""An attempt's status in the learner's words: a headline and what it means for them."""

from __future__ import annotations

WORDS: dict[str, tuple[str, str]] = {
    "created": ("Getting ready", "ProctorFree is preparing your proctored session."),
    "awaiting_setup": (
        "Awaiting setup",
        "Press “Set up Proctoring” to test your system, create your profile and start the session.",
    ),
    "in_progress": (
        "In progress",
        "Take the quiz, then press FINISH in the ProctorFree window and confirm.",
    ),
    "finished": ("Finished", "You pressed FINISH: the proctored session has ended."),
    "awaiting_audit": (
        "Awaiting audit",
        "ProctorFree is auditing the recording of your session, usually within 24 hours.",
    ),
    "ready_for_review": (
        "Ready for review",
        "The audit is done: a reviewer will now pass or fail the proctoring.",
    ),
    "passed": ("Passed", "The reviewer passed the proctoring of this attempt."),
    "failed": ("Failed", "The reviewer failed the proctoring of this attempt."),
    "completed": ("Completed", "This attempt is complete."),
    "expired": (
        "Expired",
        "The proctored session was never finished in time, so ProctorFree closed it.",
    ),
    "error": (
        "On hold",
        "ProctorFree refused this course's connection; the course team has been told. "
        "Nothing is lost: the attempt continues once they fix it.",
    ),
}

# The learner is done with the attempt (a retake may start while the review still runs).
LEARNER_DONE = frozenset(
    {"finished", "awaiting_audit", "ready_for_review", "passed", "failed", "completed", "expired"}
)


def describe(status: str) -> tuple[str, str]:
    return WORDS.get(status, (status.replace("_", " ").capitalize(), ""))


def stage(status: str) -> str:
    """Which part of the lesson page applies: set up, take the quiz, or done."""
    if status in LEARNER_DONE:
        return "done"
    if status == "in_progress":
        return "in_progress"
    return "setup"  # also `error`: the words say it is on hold


def lesson_words(values: dict | None) -> str:
    """A lesson's completion as the course page shows it."""
    if not values or not values.get("completed"):
        return "not completed yet"
    words = "completed" if values.get("success") else "completed, not passed"
    if values.get("score") is not None:
        words += f" ({round(values['score'])}%)"
    if values.get("proctoring_result"):
        words += f", proctoring {values['proctoring_result']}"
    return words


def event_words(event_type: str, data: dict) -> str:
    """One line for the page's list of events received."""
    if event_type == "attempt.status_changed":
        return f"attempt {data.get('attempt_number')} is {data.get('status')}"
    if event_type == "review_task.changed":
        return f"review task {data.get('state')}"
    if event_type == "lesson.completed":
        return f"lesson {data.get('lesson_id')} {lesson_words(data | {'completed': True})}"
    if event_type == "result.changed":
        return f"proctoring result of {data.get('lesson_id')} changed to {data.get('new')}"
    known = {
        "course.completed": "course completed",
        "course.uncompleted": "course no longer completed",
        "certificate.issued": "certificate issued",
        "certificate.revoked": "certificate revoked",
    }
    return known.get(event_type, event_type)
