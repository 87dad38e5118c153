"""What a ProctorFree call needs besides ids: the learner's name and e-mail, the sealed
credentials, the LMS's return URL, the accommodation's note for ProctorFree's reviewer. Read by
the vendor activities from the database, so none of it ever travels through a workflow's input
or history."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from models.organisation import fill
from models.tables import Accommodation, Attempt, Integration, Learner, Lesson, Organisation


@dataclass(frozen=True)
class VendorContext:
    lesson_title: str
    method: str
    learner_name: str
    learner_email: str
    sealed_api_key: str
    sealed_api_secret: str
    # The organisation's LMS exam page for this attempt; None: ProctorFree shows its own page.
    return_url: str | None
    # Why this learner has more time, for ProctorFree's reviewer: only when an accommodation
    # gave the attempt its time (it may tell of a disability: never in a workflow or a log).
    accommodation_note: str | None = None


def vendor_context(session: Session, attempt_id: str) -> VendorContext:
    attempt = session.get(Attempt, attempt_id)
    if attempt is None:
        raise LookupError(f"attempt {attempt_id} is not stored")
    lesson = session.get(Lesson, (attempt.org_id, attempt.course_id, attempt.lesson_id))
    learner = session.get(Learner, (attempt.org_id, attempt.learner_id))
    integration = session.get(Integration, attempt.integration_id)
    organisation = session.get(Organisation, attempt.org_id)
    if lesson is None or learner is None or integration is None:
        raise LookupError(f"attempt {attempt_id}: lesson, learner or integration is missing")
    return VendorContext(
        lesson_title=lesson.title,
        method=attempt.method,
        learner_name=learner.name,
        learner_email=learner.email,
        sealed_api_key=integration.api_key_encrypted,
        sealed_api_secret=integration.api_secret_encrypted,
        return_url=_return_url(organisation, attempt),
        accommodation_note=_accommodation_note(session, attempt),
    )


def _accommodation_note(session: Session, attempt: Attempt) -> str | None:
    if not attempt.accommodated:
        return None
    accommodation = session.get(Accommodation, (attempt.org_id, attempt.course_id, attempt.learner_id))
    return accommodation.note if accommodation is not None and accommodation.note else None


def _return_url(organisation: Organisation | None, attempt: Attempt) -> str | None:
    if organisation is None or not organisation.lms_return_url:
        return None
    return fill(
        organisation.lms_return_url,
        attempt_id=attempt.id,
        course_id=attempt.course_id,
        lesson_id=attempt.lesson_id,
    )
