"""Course progress as the LMS and reviewers read it, and proctoring results changed after
the fact ("click on the lock icon ... update the proctoring column"), each change kept in an
audit trail. Unlike the source product, a change can re-evaluate course completion."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import Session, select

from models.events import EventType
from models.rules import ProctoringResult, decision_for, lesson_outcome
from models.tables import Attempt, CourseProgress, LessonProgress, ResultChange, utcnow
from proctorflow.errors import Conflict
from store import audit, catalog, scoped
from store.progress import certificate_of, evaluate_course, holds_certificate, lock_learner, tell


@dataclass
class LessonRow:
    lesson_id: str
    title: str
    type: str
    required: bool
    proctored: bool
    method: str | None
    completed: bool
    completed_at: str | None
    success: bool | None
    score: float | None
    proctoring_result: str | None
    completed_by: str | None  # "lms" (reported) or "attempt" (proctored); None while not complete
    latest_attempt_id: str | None
    latest_attempt_status: str | None


@dataclass
class Progress:
    course_id: str
    learner_id: str
    lessons: list[LessonRow]
    course_completed: bool
    course_completed_at: str | None
    course_success: bool | None
    course_score: float | None
    certificate_id: str | None
    changes: list[ResultChange] = field(default_factory=list)


def read_progress(session: Session, org_id: str, course_id: str, learner_id: str) -> Progress:
    scoped.course(session, org_id, course_id)
    lessons = catalog.lessons_of(session, org_id, course_id)
    rows = []
    for lesson in lessons:
        progress = session.get(LessonProgress, (org_id, course_id, lesson.id, learner_id))
        attempt = latest_attempt(session, org_id, course_id, lesson.id, learner_id)
        rows.append(
            LessonRow(
                lesson_id=lesson.id,
                title=lesson.title,
                type=lesson.type,
                required=lesson.required,
                proctored=lesson.integration_id is not None,
                method=lesson.method,
                completed=bool(progress and progress.completed_at),
                completed_at=progress.completed_at.isoformat()
                if progress and progress.completed_at
                else None,
                success=progress.success if progress else None,
                score=progress.score if progress else None,
                proctoring_result=progress.proctoring_result if progress else None,
                completed_by=_completed_by(progress),
                latest_attempt_id=attempt.id if attempt else None,
                latest_attempt_status=attempt.status if attempt else None,
            )
        )
    course = session.get(CourseProgress, (org_id, course_id, learner_id))
    held = holds_certificate(session, org_id, course_id, learner_id)
    certificate = certificate_of(session, org_id, course_id, learner_id) if held else None
    changes = session.exec(
        select(ResultChange)
        .where(
            ResultChange.org_id == org_id,
            ResultChange.course_id == course_id,
            ResultChange.learner_id == learner_id,
        )
        .order_by(ResultChange.at.desc())  # type: ignore[attr-defined]
    ).all()
    return Progress(
        course_id=course_id,
        learner_id=learner_id,
        lessons=rows,
        course_completed=bool(course and course.completed_at),
        course_completed_at=course.completed_at.isoformat() if course and course.completed_at else None,
        course_success=course.success if course else None,
        course_score=course.score if course else None,
        certificate_id=certificate.id if certificate else None,
        changes=list(changes),
    )


def _completed_by(progress: LessonProgress | None) -> str | None:
    if progress is None or progress.completed_at is None:
        return None
    return "attempt" if progress.attempt_id else "lms"


def latest_attempt(
    session: Session, org_id: str, course_id: str, lesson_id: str, learner_id: str
) -> Attempt | None:
    return session.exec(
        select(Attempt)
        .where(
            Attempt.org_id == org_id,
            Attempt.course_id == course_id,
            Attempt.lesson_id == lesson_id,
            Attempt.learner_id == learner_id,
        )
        .order_by(Attempt.attempt_number.desc())  # type: ignore[attr-defined]
    ).first()


@dataclass
class ChangeOutcome:
    previous: str | None
    new: str
    course_reevaluated: bool
    course_completed: bool
    message: str


def change_result(
    session: Session,
    org_id: str,
    course_id: str,
    lesson_id: str,
    learner_id: str,
    new_result: ProctoringResult,
    reason: str,
    changed_by: str,
    reevaluate_course: bool,
) -> ChangeOutcome:
    """Change a completed lesson's proctoring result; with `reevaluate_course`, recompute the
    lesson's success and apply the course's rules again: the course completes (and certifies)
    if it now qualifies, takes the new success and score if it stays complete, or is
    un-completed and its certificate revoked if it no longer qualifies. Without it, only the
    result changes. Either way the LMS is told (`result.changed`, and the course's and
    certificate's events)."""
    scoped.lesson(session, org_id, course_id, lesson_id)
    lock_learner(session, org_id, learner_id)
    progress = session.get(LessonProgress, (org_id, course_id, lesson_id, learner_id))
    if progress is None:
        raise _not_complete(lesson_id, learner_id)
    previous = set_result(session, progress, new_result, reevaluate_course)
    return record_result_change(session, progress, previous, reason, changed_by, reevaluate_course)


def set_result(
    session: Session, progress: LessonProgress, new_result: ProctoringResult, recompute_success: bool
) -> str | None:
    """Set a completed lesson's proctoring result (and, if asked, the success it gives); the
    previous result. The caller holds the learner's lock."""
    if progress.completed_at is None:
        raise _not_complete(progress.lesson_id, progress.learner_id)
    previous = progress.proctoring_result
    progress.proctoring_result = new_result
    if recompute_success:
        attempt = session.get(Attempt, progress.attempt_id) if progress.attempt_id else None
        outcome = lesson_outcome(
            decision_for(new_result), attempt.exam_passed if attempt else None, progress.score
        )
        progress.success = outcome.success
    session.add(progress)
    session.flush()
    return previous


def record_result_change(
    session: Session,
    progress: LessonProgress,
    previous: str | None,
    reason: str,
    changed_by: str,
    reevaluate_course: bool,
) -> ChangeOutcome:
    """After `set_result`: the course re-evaluated if asked, the change kept in the audit
    trail, and the LMS told."""
    org_id, course_id, learner_id = progress.org_id, progress.course_id, progress.learner_id
    lesson_id, new_result = progress.lesson_id, progress.proctoring_result or ""
    now = utcnow()
    message = f"proctoring result changed from {previous or 'none'} to {new_result}"
    course_completed = False
    if reevaluate_course:
        course = evaluate_course(session, org_id, course_id, learner_id, lesson_id, now, reevaluating=True)
        course_completed = course.after.complete
        if course.before.complete and course.after.complete:
            message += f"; course stays complete, success now {course.after.success}"
        elif course.after.complete:
            message += "; course completed" + ("; certificate issued" if course.certificate_issued else "")
        elif course.before.complete:
            message += f"; course no longer complete ({course.outcome.reason})"
        else:
            message += f"; course not completed ({course.outcome.reason})"
        if course.certificate_revoked:
            message += "; certificate revoked"
    else:
        message += "; course completion, success and score left as they were"
    session.add(
        ResultChange(
            org_id=org_id,
            course_id=course_id,
            lesson_id=lesson_id,
            learner_id=learner_id,
            previous=previous,
            new=new_result,
            reason=reason,
            changed_by=changed_by,
            reevaluated_course=reevaluate_course,
            at=now,
        )
    )
    facts = {
        "lesson_id": lesson_id,
        "previous": previous,
        "new": new_result,
        "reevaluated_course": reevaluate_course,
    }
    tell(session, progress, EventType.RESULT_CHANGED, now, **facts)
    target = audit.path("courses", course_id, "learners", learner_id, "lessons", lesson_id)
    audit.record_acting(session, org_id, "result.changed", target, facts, changed_by=changed_by)
    return ChangeOutcome(previous, new_result, reevaluate_course, course_completed, message)


def _not_complete(lesson_id: str, learner_id: str) -> Conflict:
    return Conflict(
        f"lesson {lesson_id} is not complete for learner {learner_id}: decide its review task instead"
    )
