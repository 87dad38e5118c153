"""Accommodations: set, read and remove one learner's extra time in a course, each change kept
(who, why, before, after) and told to the LMS (`accommodation.changed`: ids only, never the
note); and the terms in force when an attempt opens."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from models.accommodations import AccommodationIn
from models.events import EventType
from models.tables import Accommodation, AccommodationChange, Lesson, utcnow
from models.time_limits import AccommodationTerms, accommodation_warnings, allowed_minutes, applies
from proctorflow.errors import Invalid, NotFound
from store import audit, catalog, events, scoped


@dataclass(frozen=True)
class Stored:
    accommodation: Accommodation
    changes: list[AccommodationChange]
    allowed: dict[str, int | None]
    warnings: list[str]

    @property
    def in_force(self) -> bool:
        expires = self.accommodation.expires_at
        return expires is None or expires > utcnow()


def terms_of(accommodation: Accommodation | None) -> AccommodationTerms | None:
    if accommodation is None:
        return None
    return AccommodationTerms(
        extra_minutes=accommodation.extra_minutes,
        time_multiplier=accommodation.time_multiplier,
        lesson_ids=accommodation.lesson_ids,
        expires_at=accommodation.expires_at,
    )


def find(session: Session, org_id: str, course_id: str, learner_id: str) -> Accommodation | None:
    return session.get(Accommodation, (org_id, course_id, learner_id))


def read(session: Session, org_id: str, course_id: str, learner_id: str) -> Stored:
    scoped.course(session, org_id, course_id)
    accommodation = find(session, org_id, course_id, learner_id)
    if accommodation is None:
        raise NotFound(f"learner {learner_id} has no accommodation in course {course_id}")
    return _stored(session, accommodation)


def put(session: Session, org_id: str, course_id: str, learner_id: str, body: AccommodationIn) -> Stored:
    scoped.course(session, org_id, course_id)
    proctored = _proctored_lessons(session, org_id, course_id)
    unknown = sorted(set(body.lesson_ids or []) - {lesson.id for lesson in proctored})
    if unknown:
        raise Invalid(
            f"lesson_ids must name proctored lessons of course {course_id}; not: {', '.join(unknown)}",
            {"unknown_lesson_ids": unknown},
        )
    accommodation = find(session, org_id, course_id, learner_id)
    before = _facts(accommodation) if accommodation else None
    if accommodation is None:
        accommodation = Accommodation(org_id=org_id, course_id=course_id, learner_id=learner_id)
    accommodation.extra_minutes = body.extra_minutes
    accommodation.time_multiplier = body.time_multiplier
    accommodation.lesson_ids = list(body.lesson_ids) if body.lesson_ids is not None else None
    accommodation.note = body.note
    accommodation.expires_at = body.expires_at
    accommodation.updated_by = body.changed_by
    accommodation.updated_at = utcnow()
    session.add(accommodation)
    _keep(session, accommodation, "set", before, _facts(accommodation), body.reason, body.changed_by)
    session.flush()
    return _stored(session, accommodation)


def remove(session: Session, org_id: str, course_id: str, learner_id: str, reason: str, by: str) -> None:
    scoped.course(session, org_id, course_id)
    accommodation = find(session, org_id, course_id, learner_id)
    if accommodation is None:
        raise NotFound(f"learner {learner_id} has no accommodation in course {course_id}")
    _keep(session, accommodation, "removed", _facts(accommodation), None, reason, by)
    session.delete(accommodation)


def in_force_for(
    session: Session, org_id: str, course_id: str, learner_id: str, lesson_id: str, now: datetime
):
    """The terms that apply to an attempt of `lesson_id` opened `now`, or None."""
    terms = terms_of(find(session, org_id, course_id, learner_id))
    return terms if applies(terms, lesson_id, now) else None


def _stored(session: Session, accommodation: Accommodation) -> Stored:
    terms = terms_of(accommodation)
    now = utcnow()
    allowed: dict[str, int | None] = {}
    warnings: list[str] = []
    for lesson in _proctored_lessons(session, accommodation.org_id, accommodation.course_id):
        if accommodation.lesson_ids is not None and lesson.id not in accommodation.lesson_ids:
            continue
        minutes = allowed_minutes(lesson.method, lesson.time_limit_minutes, terms, lesson.id, now)  # type: ignore[arg-type]
        allowed[lesson.id] = minutes
        warnings += [
            f"{lesson.title}: {warning}"
            for warning in accommodation_warnings(lesson.method, lesson.time_limit_minutes, minutes)  # type: ignore[arg-type]
        ]
    changes = session.exec(
        select(AccommodationChange)
        .where(
            AccommodationChange.org_id == accommodation.org_id,
            AccommodationChange.course_id == accommodation.course_id,
            AccommodationChange.learner_id == accommodation.learner_id,
        )
        .order_by(col(AccommodationChange.id).desc())
    ).all()
    return Stored(accommodation, list(changes), allowed, warnings)


def _proctored_lessons(session: Session, org_id: str, course_id: str) -> list[Lesson]:
    return [lesson for lesson in catalog.lessons_of(session, org_id, course_id) if lesson.method is not None]


def _facts(accommodation: Accommodation) -> dict[str, Any]:
    return {
        "extra_minutes": accommodation.extra_minutes,
        "time_multiplier": accommodation.time_multiplier,
        "lesson_ids": accommodation.lesson_ids,
        "note": accommodation.note,
        "expires_at": accommodation.expires_at.isoformat() if accommodation.expires_at else None,
    }


def _keep(
    session: Session,
    accommodation: Accommodation,
    action: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    reason: str,
    by: str,
) -> None:
    at = utcnow()
    session.add(
        AccommodationChange(
            org_id=accommodation.org_id,
            course_id=accommodation.course_id,
            learner_id=accommodation.learner_id,
            action=action,
            before=before,
            after=after,
            reason=reason,
            changed_by=by,
            at=at,
        )
    )
    events.emit(
        session,
        accommodation.org_id,
        accommodation.course_id,
        accommodation.learner_id,
        EventType.ACCOMMODATION_CHANGED,
        {"course_id": accommodation.course_id, "learner_id": accommodation.learner_id, "action": action},
        at,
    )
    # Which terms changed, by name: never the note (it may tell of a disability) or the reason.
    old, new = before or {}, after or {}
    changed = sorted(name for name in old.keys() | new.keys() if old.get(name) != new.get(name))
    target = audit.path(
        "courses", accommodation.course_id, "learners", accommodation.learner_id, "accommodation"
    )
    audit.record_acting(
        session,
        accommodation.org_id,
        f"accommodation.{action}",
        target,
        {"fields": changed},
        changed_by=by,
    )
