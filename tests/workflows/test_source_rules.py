"""Every rule of the source article, on the real time-skipping Temporal server, the real
database and the ProctorFree emulator over HTTP. Each test is named after the rule it checks."""

from __future__ import annotations

import asyncio
import itertools
from datetime import timedelta

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.service import RPCError

from models.api import LessonIn
from models.payloads import AuditReport, DecisionRequest, ExamResult
from models.rules import AttemptPlan
from tests.support.harness import Harness, running_harness
from workflows.attempt import AttemptWorkflow

INTRO = LessonIn(id="intro", title="Welcome video", type="video", required=True)


def exam(required: bool = True, retakes: bool = False) -> LessonIn:
    return LessonIn(id="exam", title="Final exam", type="quiz", required=required, allows_retakes=retakes)


async def decide(handle, decision: str, reviewer: str = "rita@lms"):
    return await handle.execute_update(
        AttemptWorkflow.decide, DecisionRequest(decision=decision, reviewer=reviewer)
    )


async def audit_lands(h: Harness, env, session_id: str, outcome: str = "clean") -> None:
    """ProctorFree finishes auditing; the next hourly poll finds it."""
    await h.emulator("audit", session_id, outcome=outcome)
    await env.sleep(timedelta(hours=1, minutes=1))


PLANS = list(itertools.product(["full", "record_only", "practice"], [True, False], [True, False]))


@pytest.mark.parametrize(("method", "required", "requires_validation"), PLANS)
async def test_each_method_validation_and_required_combination_follows_the_source(
    time_skipping, tmp_path, method, required, requires_validation
):
    plan = AttemptPlan(method, required, requires_validation)
    async with running_harness(time_skipping.client, tmp_path) as h:
        h.seed([INTRO, exam(required)], {"exam": (method, requires_validation)})
        h.complete_lesson_directly("intro")
        handle = await h.open("exam")
        session_id = await h.learner_takes_exam(handle, passed=True, score=91)
        await h.wait_for(handle, lambda s: s.status not in ("awaiting_setup", "in_progress", "finished"))

        # "Tasks are only created for lessons that are required (not optional)."
        expected = "not_ready" if method == "full" else "ready_for_review"
        task = await h.task_when(handle, lambda t: t.state == expected) if required else h.task(handle)
        assert (task is not None) is required
        if task is not None:
            assert task.type == "Proctoring Review"

        # Requires validation off: the lesson completes on the exam result, before any review.
        lesson = h.lesson_progress("exam")
        assert (lesson is not None and lesson.completed_at is not None) is (not requires_validation)

        if plan.awaits_audit:
            assert (await h.state(handle)).status == "awaiting_audit"
            await audit_lands(h, time_skipping, session_id)
            await h.wait_for(handle, lambda s: s.status == "ready_for_review")
            if task is not None:
                await h.task_when(handle, lambda t: t.state == "ready_for_review")
        if plan.awaits_decision:
            reply = await decide(handle, "pass")
            assert reply.accepted and reply.decision == "pass"
        final = await handle.result()
        assert final["status"] == "completed"
        await h.save_history(
            handle,
            f"plan_{method}_{'required' if required else 'optional'}_"
            f"{'validated' if requires_validation else 'auto'}",
        )

        lesson = h.lesson_progress("exam")
        assert lesson.completed_at is not None and lesson.success is True and lesson.score == 91
        # "This will also complete the course if the proctored lesson was the last required lesson."
        course = h.course_progress()
        assert (course is not None and course.completed_at is not None) is required
        assert h.certificates() == int(required)
        if task is not None:
            task = h.task(handle)
            assert task.state == "passed" and task.completed_at is not None and task.decided_by == "rita@lms"


async def test_requires_validation_on_the_lesson_waits_for_a_reviewer_pass(time_skipping, tmp_path):
    async with running_harness(time_skipping.client, tmp_path) as h:
        h.seed([exam()], {"exam": ("record_only", True)})
        handle = await h.open("exam")
        await h.learner_takes_exam(handle)
        await h.wait_for(handle, lambda s: s.status == "ready_for_review")
        await time_skipping.sleep(timedelta(days=3))
        assert h.lesson_progress("exam") is None, "requires validation: no completion without a decision"
        reply = await decide(handle, "pass")
        assert reply.message == "passed; lesson completed, course completed, certificate issued"
        assert h.lesson_progress("exam").completed_at is not None


async def test_requires_validation_off_completes_the_lesson_on_the_exam_result(time_skipping, tmp_path):
    async with running_harness(time_skipping.client, tmp_path) as h:
        h.seed([exam()], {"exam": ("full", False)})
        handle = await h.open("exam")
        await h.learner_takes_exam(handle, passed=True, score=75)
        await h.wait_for(handle, lambda s: s.lesson_completed)
        lesson = h.lesson_progress("exam")
        assert lesson.success is True and lesson.score == 75 and lesson.proctoring_result is None
        assert h.course_progress().completed_at is not None
        assert h.task(handle).state == "not_ready", "the review still follows the audit"


async def test_failing_proctoring_completes_the_lesson_as_failed(time_skipping, tmp_path):
    async with running_harness(time_skipping.client, tmp_path) as h:
        h.seed([INTRO, exam()], {"exam": ("record_only", True)})
        h.complete_lesson_directly("intro")
        handle = await h.open("exam")
        await h.learner_takes_exam(handle, passed=True)
        await h.wait_for(handle, lambda s: s.status == "ready_for_review")
        reply = await decide(handle, "fail")
        assert reply.decision == "fail" and "lesson completed as failed" in reply.message
        await handle.result()
        await h.save_history(handle, "record_only_failed")
        lesson = h.lesson_progress("exam")
        assert (
            lesson.completed_at is not None
            and lesson.success is False
            and lesson.proctoring_result == "failed"
        )
        assert h.task(handle).state == "failed" and h.task(handle).completed_at is not None
        assert h.course_progress() is None, (
            "no score lesson: a failed last lesson does not complete the course"
        )
        assert h.certificates() == 0


@pytest.mark.parametrize(
    ("score_lesson", "complete_on_failure", "course_completes"),
    [("exam", True, True), ("exam", False, False), (None, True, False)],
)
async def test_failing_last_required_lesson_completes_course_with_score_lesson_and_complete_on_failure(
    time_skipping, tmp_path, score_lesson, complete_on_failure, course_completes
):
    async with running_harness(time_skipping.client, tmp_path) as h:
        h.seed(
            [INTRO, exam()],
            {"exam": ("record_only", True)},
            score_lesson_id=score_lesson,
            complete_on_failure=complete_on_failure,
        )
        h.complete_lesson_directly("intro")
        handle = await h.open("exam")
        await h.learner_takes_exam(handle, passed=False, score=40)
        await h.wait_for(handle, lambda s: s.status == "ready_for_review")
        await decide(handle, "fail")
        await handle.result()
        course = h.course_progress()
        assert (course is not None) is course_completes
        if course is not None:
            assert course.success is False and course.score == (40 if score_lesson else None)
        assert h.certificates() == 0, "a failed course issues no certificate"


async def test_use_lesson_score_as_course_score_on_pass(time_skipping, tmp_path):
    async with running_harness(time_skipping.client, tmp_path) as h:
        h.seed([INTRO, exam()], {"exam": ("record_only", False)}, score_lesson_id="exam")
        h.complete_lesson_directly("intro")
        handle = await h.open("exam")
        await h.learner_takes_exam(handle, passed=True, score=83.5)
        await h.wait_for(handle, lambda s: s.status == "ready_for_review")
        await decide(handle, "pass")
        await handle.result()
        course = h.course_progress()
        assert course.completed_at is not None and course.success is True and course.score == 83.5
        assert h.certificates() == 1


async def test_course_waits_while_another_required_lesson_is_incomplete(time_skipping, tmp_path):
    async with running_harness(time_skipping.client, tmp_path) as h:
        h.seed([INTRO, exam()], {"exam": ("record_only", False)})
        handle = await h.open("exam")
        await h.learner_takes_exam(handle)
        await h.wait_for(handle, lambda s: s.status == "ready_for_review")
        reply = await decide(handle, "pass")
        assert "course not completed (required lessons not complete: intro)" in reply.message
        assert h.course_progress() is None and h.certificates() == 0


async def test_decisions_before_ready_are_refused(time_skipping, tmp_path):
    async with running_harness(time_skipping.client, tmp_path) as h:
        h.seed([exam()], {"exam": ("full", True)})
        handle = await h.open("exam")
        await h.session_id(handle)
        with pytest.raises(WorkflowUpdateFailedError) as not_finished:
            await decide(handle, "pass")
        assert "has not finished the proctored session" in str(not_finished.value.cause)
        session_id = await h.learner_takes_exam(handle)
        await h.wait_for(handle, lambda s: s.status == "awaiting_audit")
        # "If a Dashboard user opens a task that hasn't been fully audited yet, we notify the user."
        with pytest.raises(WorkflowUpdateFailedError) as not_audited:
            await decide(handle, "fail")
        assert "not finished auditing" in str(not_audited.value.cause)
        assert h.task(handle).state == "not_ready"
        await audit_lands(h, time_skipping, session_id)
        await h.wait_for(handle, lambda s: s.status == "ready_for_review")
        assert (await decide(handle, "fail")).accepted


async def test_unknown_decision_values_are_refused(time_skipping, tmp_path):
    async with running_harness(time_skipping.client, tmp_path) as h:
        h.seed([exam()], {"exam": ("record_only", True)})
        handle = await h.open("exam")
        await h.learner_takes_exam(handle)
        await h.wait_for(handle, lambda s: s.status == "ready_for_review")
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await decide(handle, "approve")
        assert "must be 'pass' or 'fail'" in str(refused.value.cause)
        assert (await h.state(handle)).decision is None


async def test_the_same_decision_twice_is_harmless_and_a_different_one_is_refused(time_skipping, tmp_path):
    async with running_harness(time_skipping.client, tmp_path) as h:
        h.seed([exam()], {"exam": ("record_only", True)})
        handle = await h.open("exam")
        await h.learner_takes_exam(handle)
        await h.wait_for(handle, lambda s: s.status == "ready_for_review")
        # Two reviewers (or one double click) at once, and a third who disagrees.
        replies = await asyncio.gather(
            decide(handle, "pass"),
            decide(handle, "pass", "sam@lms"),
            decide(handle, "fail"),
            return_exceptions=True,
        )
        winner = (await handle.result())["decision"]
        done = "passed" if winner == "pass" else "failed"
        accepted = [r for r in replies if not isinstance(r, BaseException) and r.accepted]
        repeated = [r for r in replies if not isinstance(r, BaseException) and not r.accepted]
        refused = [r for r in replies if isinstance(r, WorkflowUpdateFailedError)]
        assert len(accepted) == 1 and accepted[0].message.startswith(f"{done}; lesson completed")
        assert all(r.message == f"already {done}; nothing changed" for r in repeated)
        assert all("course progress" in str(r.cause) for r in refused)
        assert (
            len(refused) == (1 if winner == "pass" else 2)
            and len(accepted) + len(repeated) + len(refused) == 3
        )
        assert h.events(handle).count("decided") == 1
        assert h.certificates() == int(winner == "pass")


async def test_a_decision_sent_as_a_signal_works_and_a_refused_one_is_logged_not_fatal(
    time_skipping, tmp_path
):
    async with running_harness(time_skipping.client, tmp_path) as h:
        h.seed([exam()], {"exam": ("full", True)})
        handle = await h.open("exam")
        session_id = await h.learner_takes_exam(handle)
        await h.wait_for(handle, lambda s: s.status == "awaiting_audit")
        await handle.signal(AttemptWorkflow.submit_decision, DecisionRequest(decision="pass", reviewer="ops"))
        await handle.signal(
            AttemptWorkflow.submit_decision, DecisionRequest(decision="bogus", reviewer="ops")
        )
        await h.wait_for(handle, lambda s: True)
        await audit_lands(h, time_skipping, session_id)
        await h.wait_for(handle, lambda s: s.status == "ready_for_review")
        await handle.signal(AttemptWorkflow.submit_decision, DecisionRequest(decision="fail", reviewer="ops"))
        result = await handle.result()
        assert result["status"] == "completed" and result["decision"] == "fail"
        assert h.events(handle).count("decision_ignored") == 2
        await h.save_history(handle, "decisions_by_signal")


async def test_start_finish_and_exam_result_arrive_in_any_order_and_twice(time_skipping, tmp_path):
    async with running_harness(time_skipping.client, tmp_path) as h:
        h.seed([exam()], {"exam": ("record_only", False)})
        handle = await h.open("exam")
        session_id = await h.session_id(handle)
        await h.emulator("start", session_id)
        await h.emulator("finish", session_id)
        await handle.signal(AttemptWorkflow.exam_result, ExamResult(score=70, passed=True))
        await handle.signal(AttemptWorkflow.learner_finished)
        await handle.signal(AttemptWorkflow.learner_started)
        await handle.signal(AttemptWorkflow.learner_finished)
        await handle.signal(AttemptWorkflow.exam_result, ExamResult(score=70, passed=True))
        await handle.signal(AttemptWorkflow.exam_result, ExamResult(score=10, passed=False))
        await h.wait_for(handle, lambda s: s.status == "ready_for_review")
        await decide(handle, "pass")
        await handle.result()
        await h.save_history(handle, "signals_out_of_order")
        events = h.events(handle)
        assert events.count("learner_finished") == 1 and events.count("lesson_completed") == 1
        assert events.count("exam_result_ignored") == 1
        assert h.lesson_progress("exam").score == 70


async def test_finish_is_found_by_polling_when_webhooks_are_lost(time_skipping, tmp_path):
    async with running_harness(time_skipping.client, tmp_path) as h:
        h.seed([exam(required=False)], {"exam": ("record_only", False)})
        handle = await h.open("exam")
        session_id = await h.session_id(handle)
        await h.emulator("start", session_id)
        await h.emulator("finish", session_id)
        await handle.signal(AttemptWorkflow.exam_result, ExamResult(score=60, passed=True))
        await time_skipping.sleep(timedelta(minutes=11))
        result = await handle.result()
        assert result["finished"] and result["status"] == "completed"


async def test_retakes_a_new_attempt_number_is_a_new_workflow_the_same_one_is_confirmed(
    time_skipping, tmp_path
):
    from proctorflow.errors import Conflict

    async with running_harness(time_skipping.client, tmp_path) as h:
        h.seed([exam(retakes=True)], {"exam": ("record_only", False)})
        first = await h.open("exam", attempt_number=1)
        reload = await h.open("exam", attempt_number=1)
        assert reload.id == first.id
        assert (await reload.describe()).run_id == (await first.describe()).run_id
        with pytest.raises(Conflict, match="must finish it before a retake"):
            await h.open("exam", attempt_number=2)
        await h.learner_takes_exam(first)
        await h.wait_for(first, lambda s: s.status == "ready_for_review")
        second = await h.open("exam", attempt_number=2)
        assert second.id != first.id
        assert (await h.session_id(second)) != (await h.session_id(first)), "every attempt is proctored"


async def test_without_retakes_a_second_attempt_is_refused(time_skipping, tmp_path):
    from proctorflow.errors import Conflict

    async with running_harness(time_skipping.client, tmp_path) as h:
        h.seed([exam(retakes=False)], {"exam": ("record_only", False)})
        first = await h.open("exam", attempt_number=1)
        await h.learner_takes_exam(first)
        await h.wait_for(first, lambda s: s.status == "ready_for_review")
        with pytest.raises(Conflict, match="does not allow retakes"):
            await h.open("exam", attempt_number=2)


async def test_practice_sessions_end_at_20_minutes(time_skipping, tmp_path):
    async with running_harness(time_skipping.client, tmp_path) as h:
        h.seed([exam(required=False)], {"exam": ("practice", False)})
        handle = await h.open("exam")
        session_id = await h.session_id(handle)
        await h.emulator("start", session_id)
        await handle.signal(AttemptWorkflow.learner_started)
        await handle.signal(AttemptWorkflow.exam_result, ExamResult(score=50, passed=True))
        await time_skipping.sleep(timedelta(minutes=21))
        state = await h.wait_for(handle, lambda s: s.finished)
        assert state.finished_at is not None
        events = h.events(handle)
        assert "learner_finished" in events
        stats = await h.stats()
        assert stats["sessions"][session_id]["closes"] == 1, "the vendor session was closed at the cap"
        result = await handle.result()
        await h.save_history(handle, "practice_capped")
        assert result["status"] == "completed"


async def test_an_attempt_never_finished_expires_and_its_vendor_session_is_closed(time_skipping, tmp_path):
    async with running_harness(time_skipping.client, tmp_path) as h:
        h.seed([exam()], {"exam": ("full", True)})
        handle = await h.open("exam")
        session_id = await h.session_id(handle)
        await h.emulator("start", session_id)
        await handle.signal(AttemptWorkflow.learner_started)
        await time_skipping.sleep(timedelta(hours=24, minutes=1))
        result = await handle.result()
        await h.save_history(handle, "expired")
        assert result["status"] == "expired"
        assert h.attempt(handle).status == "expired"
        assert h.task(handle) is None and h.lesson_progress("exam") is None
        assert (await h.stats())["sessions"][session_id]["closes"] == 1


async def test_an_audit_that_never_arrives_is_escalated_not_waited_on_forever(time_skipping, tmp_path):
    async with running_harness(time_skipping.client, tmp_path) as h:
        h.seed([exam()], {"exam": ("full", True)})
        handle = await h.open("exam")
        await h.learner_takes_exam(handle)
        await h.wait_for(handle, lambda s: s.status == "awaiting_audit")
        await time_skipping.sleep(timedelta(hours=27, minutes=30))
        assert (await handle.query(AttemptWorkflow.state)).status == "awaiting_audit", (
            "not escalated before its deadline, 28 hours after FINISH (the last poll came at 27 h)"
        )
        await time_skipping.sleep(timedelta(hours=1))
        state = await h.wait_for(handle, lambda s: s.status == "ready_for_review")
        assert state.audit == AuditReport(outcome="missing", escalated=True)
        task = await h.task_when(handle, lambda t: t.state == "ready_for_review")
        assert task.state == "ready_for_review" and task.flagged and task.audit_outcome == "missing"
        assert (await decide(handle, "pass")).accepted
        await handle.result()
        await h.save_history(handle, "audit_escalated")


async def test_the_audit_webhook_ends_the_wait_at_once(time_skipping, tmp_path):
    async with running_harness(time_skipping.client, tmp_path) as h:
        h.seed([exam()], {"exam": ("full", True)})
        handle = await h.open("exam")
        session_id = await h.learner_takes_exam(handle)
        await h.wait_for(handle, lambda s: s.status == "awaiting_audit")
        await h.emulator("audit", session_id, outcome="flagged")
        await handle.signal(AttemptWorkflow.audit_completed, AuditReport(outcome="flagged"))
        await h.wait_for(handle, lambda s: s.status == "ready_for_review")
        task = await h.task_when(handle, lambda t: t.state == "ready_for_review")
        assert task.flagged and task.audit_outcome == "flagged"
        assert (await h.stats())["sessions"][session_id]["status_checks"] <= 2


async def test_unknown_lessons_courses_and_inactive_integrations_are_refused_before_any_workflow(
    time_skipping, tmp_path
):
    from proctorflow.errors import Invalid, NotFound

    async with running_harness(time_skipping.client, tmp_path) as h:
        h.seed([exam(), LessonIn(id="notes", title="Notes", type="html")], {"exam": ("record_only", False)})
        with pytest.raises(NotFound, match="course nope does not exist"):
            await h.open("exam", course_id="nope")
        with pytest.raises(NotFound, match="lesson missing is not part of course course-1"):
            await h.open("missing")
        from proctorflow.errors import Conflict

        with pytest.raises(Conflict, match="lesson notes is not proctored"):
            await h.open("notes")
        h.set_integration_active(False)
        with pytest.raises(Invalid, match="is not active"):
            await h.open("exam")
        for lesson_id in ("exam", "missing", "notes"):
            handle = h.client.get_workflow_handle(h.workflow_id(lesson_id))
            with pytest.raises(RPCError, match="not found"):
                await handle.describe()
