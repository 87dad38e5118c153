"""A proctoring result set from the learner's course progress, by the API and the reviewer UI.

While the lesson's latest attempt still awaits a pass or fail (an optional lesson that requires
validation has no review task to decide), the result is that decision, taken by its workflow.
Afterwards it is a change to the completed lesson ("click on the lock icon ... update the
proctoring column"), kept in the audit trail and, if asked, re-evaluating the course. The same
request may carry manual overrides of the lesson (`store/overrides.py`), all in one transaction.
"""

from __future__ import annotations

import asyncio

from sqlmodel import Session
from temporalio.client import Client

from models.api import ResultChangeIn, ResultChangeReply
from models.overrides import LessonPatchIn
from models.rules import AttemptPlan, decision_for
from models.statuses import DECIDED, TERMINAL, AttemptStatus
from models.tables import Attempt, CourseProgress, ResultChange, utcnow
from proctorflow.errors import Conflict
from starter import decisions
from store import overrides, results, scoped
from store.db import SessionFactory, transaction


async def change_proctoring_result(
    client: Client,
    sessions: SessionFactory,
    org_id: str,
    course_id: str,
    lesson_id: str,
    learner_id: str,
    change: ResultChangeIn,
) -> ResultChangeReply:
    def undecided() -> Attempt | None:
        with sessions() as session:
            scoped.lesson(session, org_id, course_id, lesson_id)
            return awaiting_decision(
                results.latest_attempt(session, org_id, course_id, lesson_id, learner_id)
            )

    attempt = await asyncio.to_thread(undecided)
    if attempt is not None:
        return await _decide(client, sessions, attempt, change)

    def changed() -> ResultChangeReply:
        with transaction(sessions) as session:
            outcome = results.change_result(
                session,
                org_id,
                course_id,
                lesson_id,
                learner_id,
                change.proctoring_result,
                change.reason,
                change.changed_by,
                change.reevaluate_course,
            )
            return change_reply(session, org_id, course_id, lesson_id, learner_id, outcome)

    return await asyncio.to_thread(changed)


def override_lesson(
    session: Session, org_id: str, course_id: str, lesson_id: str, learner_id: str, change: LessonPatchIn
) -> ResultChangeReply | None:
    """Manual overrides of the lesson, in the caller's transaction, with the result change they
    come with (its reply, if any). A result its workflow still has to take as a decision is
    refused here: that decision commits on its own, and an override must be all or nothing."""
    if change.proctoring_result is not None:
        attempt = results.latest_attempt(session, org_id, course_id, lesson_id, learner_id)
        if awaiting_decision(attempt) is not None:
            raise Conflict(
                f"lesson {lesson_id}'s attempt still awaits a pass or fail: send proctoring_result "
                "alone to decide it, then the overrides"
            )
    outcome = overrides.override_lesson(session, org_id, course_id, lesson_id, learner_id, change)
    if outcome is None:
        return None
    return change_reply(session, org_id, course_id, lesson_id, learner_id, outcome)


def change_reply(
    session: Session,
    org_id: str,
    course_id: str,
    lesson_id: str,
    learner_id: str,
    outcome: results.ChangeOutcome,
) -> ResultChangeReply:
    latest = results.latest_attempt(session, org_id, course_id, lesson_id, learner_id)
    return ResultChangeReply(
        lesson_id=lesson_id,
        applied_as="change",
        previous=outcome.previous,
        new=outcome.new,
        course_reevaluated=outcome.course_reevaluated,
        course_completed=outcome.course_completed,
        attempt_status=latest.status if latest else None,
        message=outcome.message,
    )


def awaiting_decision(attempt: Attempt | None) -> Attempt | None:
    """The attempt, if it is still open and waits for someone to pass or fail it."""
    if attempt is None:
        return None
    plan = AttemptPlan(attempt.method, attempt.required, attempt.requires_validation)  # type: ignore[arg-type]
    status = AttemptStatus(attempt.status)
    return attempt if plan.awaits_decision and status not in DECIDED and status not in TERMINAL else None


async def _decide(
    client: Client, sessions: SessionFactory, attempt: Attempt, change: ResultChangeIn
) -> ResultChangeReply:
    decision = decision_for(change.proctoring_result)
    reply = await decisions.decide_attempt(client, sessions, attempt, decision, change.changed_by)

    def remember() -> bool:
        with transaction(sessions) as session:
            if reply.accepted:  # the decision's reason joins the trail of later changes
                session.add(
                    ResultChange(
                        org_id=attempt.org_id,
                        course_id=attempt.course_id,
                        lesson_id=attempt.lesson_id,
                        learner_id=attempt.learner_id,
                        previous=None,
                        new=change.proctoring_result,
                        reason=change.reason,
                        changed_by=change.changed_by,
                        reevaluated_course=True,
                        at=utcnow(),
                    )
                )
            course = session.get(CourseProgress, (attempt.org_id, attempt.course_id, attempt.learner_id))
            return bool(course and course.completed_at)

    course_completed = await asyncio.to_thread(remember)
    return ResultChangeReply(
        lesson_id=attempt.lesson_id,
        applied_as="decision",
        previous=None,
        new=change.proctoring_result,
        course_reevaluated=True,
        course_completed=course_completed,
        attempt_status=reply.status,
        message=reply.message,
    )
