"""What the accommodation pages read and write: a course's accommodations with the learners'
names, one learner's with its history, and rows applied one by one (`store.accommodations`
does the writing: the same checks, history and events as the LMS's API)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from pydantic import ValidationError
from sqlalchemy import and_, func
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col, select

from models.tables import Accommodation, AccommodationChange, Course, Learner, Lesson, utcnow
from proctorflow.errors import Refused
from store import accommodations, audit, catalog, scoped
from store.db import SessionFactory, transaction
from web.review.accommodation_rows import BadRow, Row

log = logging.getLogger("proctorflow.review")

PAGE_SIZE = 100


@dataclass(frozen=True)
class Listed:
    accommodation: Accommodation
    learner_name: str | None


@dataclass(frozen=True)
class CourseAccommodations:
    course: Course
    proctored: dict[str, str]  # the course's proctored lessons: id: title
    rows: list[Listed]
    total: int
    now: datetime


def proctored_lessons(session: Session, org_id: str, course_id: str) -> dict[str, str]:
    return {
        lesson.id: lesson.title
        for lesson in catalog.lessons_of(session, org_id, course_id)
        if lesson.method is not None
    }


def load_course(session: Session, org_id: str, course_id: str, page: int) -> CourseAccommodations:
    course = scoped.course(session, org_id, course_id)
    mine = and_(Accommodation.org_id == org_id, Accommodation.course_id == course_id)
    total = session.exec(select(func.count()).select_from(Accommodation).where(mine)).one()
    found = session.exec(
        select(Accommodation, Learner.name)
        .outerjoin(Learner, and_(Learner.org_id == org_id, Learner.id == Accommodation.learner_id))
        .where(mine)
        .order_by(col(Accommodation.learner_id))
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    ).all()
    rows = [Listed(accommodation, name) for accommodation, name in found]
    return CourseAccommodations(course, proctored_lessons(session, org_id, course_id), rows, total, utcnow())


@dataclass(frozen=True)
class CourseRow:
    course: Course
    proctored: int
    accommodations: int


def load_courses(session: Session, org_id: str) -> list[CourseRow]:
    courses = session.exec(select(Course).where(Course.org_id == org_id).order_by(col(Course.title))).all()
    proctored = dict(
        session.exec(
            select(Lesson.course_id, func.count())
            .where(Lesson.org_id == org_id, col(Lesson.method).is_not(None))
            .group_by(col(Lesson.course_id))
        ).all()
    )
    accommodated = dict(
        session.exec(
            select(Accommodation.course_id, func.count())
            .where(Accommodation.org_id == org_id)
            .group_by(col(Accommodation.course_id))
        ).all()
    )
    return [CourseRow(c, proctored.get(c.id, 0), accommodated.get(c.id, 0)) for c in courses]


@dataclass(frozen=True)
class LearnerAccommodation:
    course: Course
    learner_id: str
    learner_name: str | None
    proctored: dict[str, str]
    stored: accommodations.Stored | None  # None: the learner has none in this course
    changes: list[AccommodationChange]
    now: datetime


def load_learner(session: Session, org_id: str, course_id: str, learner_id: str) -> LearnerAccommodation:
    course = scoped.course(session, org_id, course_id)
    learner = session.get(Learner, (org_id, learner_id))
    found = accommodations.find(session, org_id, course_id, learner_id)
    stored = accommodations.read(session, org_id, course_id, learner_id) if found else None
    changes = stored.changes if stored else _changes(session, org_id, course_id, learner_id)
    return LearnerAccommodation(
        course=course,
        learner_id=learner_id,
        learner_name=learner.name if learner else None,
        proctored=proctored_lessons(session, org_id, course_id),
        stored=stored,
        changes=changes,
        now=utcnow(),
    )


def _changes(session: Session, org_id: str, course_id: str, learner_id: str) -> list[AccommodationChange]:
    """A removed accommodation's history (the store reads it only with the accommodation)."""
    return list(
        session.exec(
            select(AccommodationChange)
            .where(
                AccommodationChange.org_id == org_id,
                AccommodationChange.course_id == course_id,
                AccommodationChange.learner_id == learner_id,
            )
            .order_by(col(AccommodationChange.id).desc())
        ).all()
    )


# --- Writing ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Applied:
    line: int
    learner_id: str
    allowed: dict[str, int | None]  # each proctored lesson's minutes for the learner now
    warnings: list[str]


@dataclass
class Outcome:
    """What an upload did, row by row."""

    applied: list[Applied] = field(default_factory=list)
    bad: list[BadRow] = field(default_factory=list)


def apply_rows(
    sessions: SessionFactory, org_id: str, course_id: str, rows: list[Row], reason: str, by: str
) -> Outcome:
    """Each row in its own transaction: a refused one changes nothing, the others apply."""
    outcome = Outcome()
    for row in rows:
        learner_id = row.terms.learner_id
        try:
            body = row.terms.body(reason, by)
            with transaction(sessions) as session:
                stored = accommodations.put(session, org_id, course_id, learner_id, body)
                outcome.applied.append(Applied(row.line, learner_id, stored.allowed, stored.warnings))
        except ValidationError as invalid:
            outcome.bad.append(BadRow(row.line, learner_id, validation_words(invalid)))
        except Refused as refused:
            outcome.bad.append(BadRow(row.line, learner_id, refused.message))
        except OperationalError:
            busy = "the database was busy and this row was not applied: upload it again"
            outcome.bad.append(BadRow(row.line, learner_id, busy))
    return outcome


def record_upload(sessions: SessionFactory, org_id: str, course_id: str, outcome: Outcome) -> None:
    """One audit entry for the upload, beside each row's own (`accommodation.set`): how many
    rows applied and how many were refused. Its rows are in already: a busy database loses this
    summary (logged), never the upload."""
    counts = {"applied": len(outcome.applied), "refused": len(outcome.bad)}
    try:
        with transaction(sessions) as session:
            audit.record_acting(
                session,
                org_id,
                "accommodations.uploaded",
                audit.path("courses", course_id, "accommodations"),
                counts,
            )
    except OperationalError:
        log.warning("could not audit an accommodations upload to course %s", course_id)


def set_one(
    sessions: SessionFactory, org_id: str, course_id: str, row: Row, reason: str, by: str
) -> accommodations.Stored:
    body = row.terms.body(reason, by)
    with transaction(sessions) as session:
        return accommodations.put(session, org_id, course_id, row.terms.learner_id, body)


def remove_one(
    sessions: SessionFactory, org_id: str, course_id: str, learner_id: str, reason: str, by: str
) -> None:
    with transaction(sessions) as session:
        accommodations.remove(session, org_id, course_id, learner_id, reason, by)


def validation_words(invalid: ValidationError) -> str:
    """A refusal of the API's own checks (the form's and the file's come first), in words."""
    error = invalid.errors()[0]
    where = " ".join(str(part).replace("_", " ") for part in error["loc"]) or "the row"
    return f"{where}: {str(error['msg'])[:1].lower()}{str(error['msg'])[1:]}"
