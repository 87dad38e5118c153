"""An attempt's status in the learner's words: a headline and what it means for them."""

from __future__ import annotations

from models.statuses import AttemptStatus

S = AttemptStatus

WORDS: dict[AttemptStatus, tuple[str, str]] = {
    S.CREATED: ("Getting ready", "ProctorFree is preparing your proctored session."),
    S.AWAITING_SETUP: (
        "Awaiting setup",
        "Press “Set up Proctoring” to test your system, create your profile and start the session.",
    ),
    S.IN_PROGRESS: (
        "In progress",
        "Take the exam, then press FINISH in the ProctorFree window and confirm.",
    ),
    S.FINISHED: ("Finished", "You pressed FINISH: the proctored session has ended."),
    S.AWAITING_AUDIT: (
        "Awaiting audit",
        "ProctorFree is auditing the recording of your session, usually within 24 hours.",
    ),
    S.READY_FOR_REVIEW: (
        "Ready for review",
        "The audit is done: a reviewer will now pass or fail the proctoring.",
    ),
    S.PASSED: ("Passed", "The reviewer passed the proctoring of this attempt."),
    S.FAILED: ("Failed", "The reviewer failed the proctoring of this attempt."),
    S.COMPLETED: ("Completed", "This attempt is complete."),
    S.EXPIRED: (
        "Expired",
        "The proctored session was never finished in time, so ProctorFree closed it.",
    ),
    S.ERROR: (
        "On hold",
        "ProctorFree refused this course's connection; the course team has been told. "
        "Nothing is lost: the attempt continues once they fix it.",
    ),
}


def describe(status: str) -> tuple[str, str]:
    return WORDS[AttemptStatus(status)]
