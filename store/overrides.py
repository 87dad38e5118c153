"""Manual overrides of a learner's record (`models/overrides.py` says what each field means).
Each runs in the caller's transaction: the change, one ManualOverride row (who, why, and before
and after of the fields it set or changed) and its events, `progress.overridden` last. A refusal,
even one raised halfway (a result change on a lesson just un-completed), rolls all of it back."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from models.events import EventType
from models.overrides import LESSON_FIELDS, CourseCompletionOverrideIn, LessonPatchIn
from models.rules import NOT_COMPLETED, CourseCompletion, CourseOutcome, CourseRules, certificate_change
from models.tables import Course, CourseProgress, Learner, LessonProgress, ManualOverride, utcnow
from proctorflow.errors import Conflict, NotFound
from store import audit, results, scoped
from store.progress import (
    certificate_of,
    evaluate_course,
    issue_certificate,
    lesson_facts,
    lesson_progress,
    lock_learner,
    revoke_certificate,
    stored_course,
    tell,
    tell_course,
)

Row = LessonProgress | CourseProgress


def override_lesson(
    session: Session, org_id: str, course_id: str, lesson_id: str, learner_id: str, change: LessonPatchIn
) -> results.ChangeOutcome | None:
    """Override a proctored lesson's completion, success and score; then change its proctoring
    result if asked (so a lesson completed here can take one); then, with `reevaluate_course`,
    apply the course's rules once. The result change's outcome, if there was one."""
    _proctored_lesson(session, org_id, course_id, lesson_id)
    _known_learner(session, org_id, course_id, learner_id)
    lock_learner(session, org_id, learner_id)
    now = utcnow()
    given = change.overrides()
    progress = _lesson_to_override(session, org_id, course_id, lesson_id, learner_id, given)
    before = _state(progress)
    _apply_to_lesson(session, progress, given, now)
    after = _state(progress)
    outcome = None
    if change.proctoring_result is not None:
        recompute = change.reevaluate_course and "success" not in given  # a success set by hand stands
        previous = results.set_result(session, progress, change.proctoring_result, recompute)
        outcome = results.record_result_change(
            session, progress, previous, change.reason, change.changed_by, change.reevaluate_course
        )
    elif change.reevaluate_course:
        evaluate_course(session, org_id, course_id, learner_id, lesson_id, now, reevaluating=True)
    _record(session, progress, lesson_id, before, after, set(given), change.reason, change.changed_by, now)
    return outcome


def override_course(
    session: Session, org_id: str, course_id: str, learner_id: str, change: CourseCompletionOverrideIn
) -> None:
    """Set or clear the course's completion; its certificate follows (issued when the course has
    one and the completion is a success, revoked otherwise), and the LMS is told as when the
    course's rules do it."""
    course = scoped.course(session, org_id, course_id)
    _known_learner(session, org_id, course_id, learner_id)
    lock_learner(session, org_id, learner_id)
    now = utcnow()
    stored = session.get(CourseProgress, (org_id, course_id, learner_id)) or CourseProgress(
        org_id=org_id, course_id=course_id, learner_id=learner_id
    )
    before_state = _state(stored)
    before = stored_course(session, org_id, course_id, learner_id)
    after = _overridden_completion(before, change)
    if not before.complete and after.complete:
        stored.completed_at = now
    if not after.complete:
        stored.completed_at = None
    stored.success, stored.score = after.success, after.score
    session.add(stored)
    tell_course(session, stored, before, after, now)
    _certificate_follows(session, course, learner_id, after, now)
    given = {"completed"} | {name for name in ("success", "score") if getattr(change, name) is not None}
    _record(session, stored, None, before_state, _state(stored), given, change.reason, change.changed_by, now)


def overrides_of(session: Session, org_id: str, course_id: str, learner_id: str) -> list[ManualOverride]:
    """The learner's overrides in the course, newest first."""
    scoped.course(session, org_id, course_id)
    return list(
        session.exec(
            select(ManualOverride)
            .where(
                ManualOverride.org_id == org_id,
                ManualOverride.course_id == course_id,
                ManualOverride.learner_id == learner_id,
            )
            .order_by(col(ManualOverride.at).desc(), col(ManualOverride.id).desc())
        )
    )


def _proctored_lesson(session: Session, org_id: str, course_id: str, lesson_id: str) -> None:
    lesson = scoped.lesson(session, org_id, course_id, lesson_id)
    if lesson.integration_id is None:
        raise Conflict(
            f"lesson {lesson_id} is not proctored: the LMS reports its completion "
            f"(PUT /api/v1/courses/{course_id}/learners/{{learner_id}}/lessons/{lesson_id}/completion)"
        )


def _known_learner(session: Session, org_id: str, course_id: str, learner_id: str) -> None:
    """A learner of the organisation's: one who opened an attempt, or has progress in the course."""
    if session.get(Learner, (org_id, learner_id)) is not None:
        return
    lesson = session.exec(
        select(LessonProgress.lesson_id).where(
            LessonProgress.org_id == org_id,
            LessonProgress.course_id == course_id,
            LessonProgress.learner_id == learner_id,
        )
    ).first()
    if lesson is None and session.get(CourseProgress, (org_id, course_id, learner_id)) is None:
        raise NotFound(
            f"learner {learner_id} has opened no attempt and has no progress in course {course_id}"
        )


def _lesson_to_override(
    session: Session, org_id: str, course_id: str, lesson_id: str, learner_id: str, given: dict[str, Any]
) -> LessonProgress:
    """The lesson's progress; a learner without any has it made by completing the lesson."""
    found = session.get(LessonProgress, (org_id, course_id, lesson_id, learner_id))
    if found is None and given.get("completed") is not True:
        raise Conflict(
            f"learner {learner_id} has no progress on lesson {lesson_id}: "
            "give completed true to complete it by hand"
        )
    return found or lesson_progress(session, org_id, course_id, lesson_id, learner_id)


def _apply_to_lesson(
    session: Session, progress: LessonProgress, given: dict[str, Any], now: datetime
) -> None:
    completing = given.get("completed") is True and progress.completed_at is None
    if completing:
        progress.completed_at = now
        progress.success = True if progress.success is None else progress.success
    if given.get("completed") is False:
        progress.completed_at = None
    progress.success = given.get("success", progress.success)
    progress.score = given.get("score", progress.score)
    session.add(progress)
    if completing:
        tell(session, progress, EventType.LESSON_COMPLETED, now, **lesson_facts(progress))
    session.flush()


def _overridden_completion(before: CourseCompletion, change: CourseCompletionOverrideIn) -> CourseCompletion:
    if not change.completed:
        return NOT_COMPLETED
    kept = True if before.success is None else before.success
    success = kept if change.success is None else change.success
    score = before.score if change.score is None else change.score
    return CourseCompletion(complete=True, success=success, score=score)


def _certificate_follows(
    session: Session, course: Course, learner_id: str, after: CourseCompletion, now: datetime
) -> None:
    rules = CourseRules(course.score_lesson_id, course.complete_on_failure, course.certificate)
    standing = CourseOutcome(complete=after.complete, success=after.success, score=after.score)
    certificate = certificate_of(session, course.org_id, course.id, learner_id)
    held = certificate is not None and certificate.revoked_at is None
    change = certificate_change(rules, standing, held)
    if change == "issue":
        issue_certificate(session, certificate, course.org_id, course.id, learner_id, now)
    elif change == "revoke" and certificate is not None:
        revoke_certificate(session, certificate, now)


def _state(row: Row) -> dict[str, Any]:
    """What an override can change, as kept in its record (JSON)."""
    return {
        "completed": row.completed_at is not None,
        "completed_at": row.completed_at.isoformat() if row.completed_at else None,
        "success": row.success,
        "score": row.score,
    }


def _record(
    session: Session,
    row: Row,
    lesson_id: str | None,
    before: dict[str, Any],
    after: dict[str, Any],
    given: set[str],
    reason: str,
    changed_by: str,
    now: datetime,
) -> None:
    """Keep the override, and tell the LMS the fields and their new values (never the reason)."""
    names = [name for name in LESSON_FIELDS if name in given or before[name] != after[name]]
    if "completed" in names:
        names.insert(1, "completed_at")
    old, new = {name: before[name] for name in names}, {name: after[name] for name in names}
    session.add(
        ManualOverride(
            org_id=row.org_id,
            course_id=row.course_id,
            lesson_id=lesson_id,
            learner_id=row.learner_id,
            before=old,
            after=new,
            reason=reason,
            changed_by=changed_by,
            at=now,
        )
    )
    tell(session, row, EventType.PROGRESS_OVERRIDDEN, now, lesson_id=lesson_id, fields=new)
    target = audit.path("courses", row.course_id, "learners", row.learner_id)
    if lesson_id is not None:
        target += "/" + audit.path("lessons", lesson_id)
    audit.record_acting(
        session, row.org_id, "progress.overridden", target, {"fields": names}, changed_by=changed_by
    )
