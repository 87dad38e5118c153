"""Time limits on the time-skipping server (SPEC, "Accommodations and time limits"): the
minutes an attempt opens with reach ProctorFree's session and end it there and here; staff
extend a running session; staff void it. Workflow time is asserted on the written steps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from temporalio.client import WorkflowUpdateFailedError

from models.payloads import ExamResult, ExtendRequest, StaffActionRequest
from models.statuses import AttemptStatus as S
from models.time_limits import AccommodationTerms, allowed_minutes
from tests.workflows.event_stubs import record_history
from tests.workflows.story import attempt, opened, since, until
from tests.workflows.stubs import Stubs
from workflows.attempt import AttemptWorkflow

NOW = datetime(2026, 12, 7, tzinfo=UTC)
HALF_AGAIN = AccommodationTerms(time_multiplier=1.5)


async def started(handle) -> None:
    await opened(handle)
    await handle.signal(AttemptWorkflow.learner_started)
    await until(handle, lambda s: s.status == S.IN_PROGRESS)


def limits_sent(stubs: Stubs, activity: str) -> list[int | None]:
    return [call.time_limit_minutes for name, call in stubs.calls if name == activity]


async def test_a_60_minute_lesson_with_half_again_runs_90_minutes_at_the_vendor_and_is_capped_at_90(
    time_skipping,
):
    minutes = allowed_minutes("full", 60, HALF_AGAIN, "exam", NOW)
    stubs = Stubs()
    async with attempt(time_skipping, stubs, "record_only", False, False, allowed_minutes=minutes) as h:
        await started(h)
        await h.signal(AttemptWorkflow.exam_result, ExamResult(score=70, passed=True))
        final = await h.result()
        await record_history(h, "accommodated_capped")

    assert limits_sent(stubs, "create_session") == [90]
    started_at, finished = stubs.step("learner_started"), stubs.step("learner_finished")
    assert since(finished.at, started_at.at) == timedelta(minutes=90), "capped at 90, not 60"
    assert final.capped and finished.detail == {"capped": True}
    assert stubs.closes == 1, "the vendor session was closed at the cap"


async def test_an_expired_accommodation_no_longer_applies_the_lessons_own_limit_does(time_skipping):
    expired = AccommodationTerms(time_multiplier=1.5, expires_at=NOW - timedelta(days=1))
    minutes = allowed_minutes("full", 60, expired, "exam", NOW)
    stubs = Stubs()
    async with attempt(time_skipping, stubs, "record_only", False, False, allowed_minutes=minutes) as h:
        await started(h)
        await h.signal(AttemptWorkflow.exam_result, ExamResult(score=70, passed=True))
        await h.result()

    assert limits_sent(stubs, "create_session") == [60]
    assert since(stubs.step("learner_finished").at, stubs.step("learner_started").at) == timedelta(minutes=60)


async def test_an_extend_during_the_session_moves_the_cap_here_and_at_the_vendor(time_skipping):
    stubs = Stubs()
    async with attempt(time_skipping, stubs, "record_only", False, False, allowed_minutes=60) as h:
        await started(h)
        await time_skipping.sleep(timedelta(minutes=50))
        reply = await h.execute_update(
            AttemptWorkflow.extend, ExtendRequest(minutes=30, reason="fire alarm", by="ops")
        )
        assert reply.allowed_minutes == 90
        await h.signal(AttemptWorkflow.exam_result, ExamResult(score=70, passed=True))
        final = await h.result()
        await record_history(h, "time_extended")

    assert limits_sent(stubs, "set_time_limit") == [90]
    extended = stubs.step("time_extended")
    assert extended.detail == {"minutes": 30, "allowed_minutes": 90, "reason": "fire alarm", "by": "ops"}
    assert since(stubs.step("learner_finished").at, stubs.step("learner_started").at) == timedelta(minutes=90)
    assert final.capped


async def test_a_practice_session_stays_within_20_minutes_whatever_the_accommodation(time_skipping):
    minutes = allowed_minutes("practice", None, AccommodationTerms(time_multiplier=4.0), "exam", NOW)
    stubs = Stubs()
    async with attempt(time_skipping, stubs, "practice", False, False, allowed_minutes=minutes) as h:
        await started(h)
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await h.execute_update(AttemptWorkflow.extend, ExtendRequest(minutes=5, reason="more", by="ops"))
        assert "cap of 20 minutes" in refused.value.cause.message
        await h.signal(AttemptWorkflow.exam_result, ExamResult(score=70, passed=True))
        await h.result()

    assert limits_sent(stubs, "create_session") == [20]
    assert since(stubs.step("learner_finished").at, stubs.step("learner_started").at) == timedelta(minutes=20)


async def test_extend_is_refused_once_the_learner_has_finished(time_skipping):
    stubs = Stubs()
    async with attempt(time_skipping, stubs, "full", True, True, allowed_minutes=60) as h:
        await started(h)
        await h.signal(AttemptWorkflow.learner_finished)
        await until(h, lambda s: s.finished)
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await h.execute_update(AttemptWorkflow.extend, ExtendRequest(minutes=5, reason="late", by="ops"))
    assert "not in the session" in refused.value.cause.message
    assert "set_time_limit" not in stubs.called


async def test_void_of_a_waiting_attempt_closes_its_session_and_task_and_ends_the_run_voided(time_skipping):
    stubs = Stubs()
    async with attempt(time_skipping, stubs, "full", True, True) as h:
        await started(h)
        await h.signal(AttemptWorkflow.learner_finished)
        await until(h, lambda s: s.status == S.AWAITING_AUDIT)
        reply = await h.execute_update(
            AttemptWorkflow.act, StaffActionRequest(action="reset", reason="webcam broke", by="ops")
        )
        final = await h.result()
        await record_history(h, "reset_while_awaiting_audit")

    assert reply.status == S.VOIDED and "next attempt" in reply.message
    assert final.status == S.VOIDED
    assert stubs.events[-1] == "voided"
    assert stubs.step("voided").detail == {"action": "reset", "reason": "webcam broke", "by": "ops"}
    assert stubs.review_states[-1] == "closed"
    assert stubs.closes == 0, "a finished session is not closed again"


async def test_void_before_the_learner_finished_closes_the_vendor_session(time_skipping):
    stubs = Stubs()
    async with attempt(time_skipping, stubs, "full", True, True) as h:
        await started(h)
        await h.execute_update(
            AttemptWorkflow.act, StaffActionRequest(action="void", reason="wrong exam", by="ops")
        )
        final = await h.result()
        await record_history(h, "voided_in_session")
    assert final.status == S.VOIDED and stubs.closes == 1


@pytest.mark.parametrize(
    ("action", "words"), [("resume", "nothing to resume"), ("check_now", "waits for nothing")]
)
async def test_actions_that_do_not_apply_are_refused_before_they_enter_the_history(
    time_skipping, action, words
):
    stubs = Stubs()
    async with attempt(time_skipping, stubs, "record_only", True, True) as h:
        await started(h)
        await h.signal(AttemptWorkflow.learner_finished)
        await until(h, lambda s: s.status == S.READY_FOR_REVIEW)
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await h.execute_update(
                AttemptWorkflow.act, StaffActionRequest(action=action, reason="why", by="ops")
            )
        assert words in refused.value.cause.message if action == "resume" else True
    if action == "check_now":
        assert "waits for nothing from ProctorFree" in refused.value.cause.message
    assert "staff_action" not in stubs.events


async def test_a_void_is_answered_without_waiting_for_proctorfree_which_refusing_to_close_is_noted(
    time_skipping,
):
    stubs = Stubs()
    stubs.refuse("close_session")
    async with attempt(time_skipping, stubs, "full", True, True) as h:
        await started(h)
        reply = await h.execute_update(
            AttemptWorkflow.act, StaffActionRequest(action="void", reason="wrong exam", by="ops")
        )
        assert reply.status == S.VOIDED
        final = await h.result()
    assert final.status == S.VOIDED
    assert stubs.events[-2:] == ["voided", "session_not_closed"]
    assert "refused the integration's API credentials" in stubs.step("session_not_closed").detail["reason"]


async def test_proctorfree_ending_the_session_at_its_limit_is_a_capped_finish(time_skipping):
    stubs = Stubs()
    async with attempt(time_skipping, stubs, "record_only", False, False, allowed_minutes=60) as h:
        await started(h)
        await h.signal(AttemptWorkflow.exam_result, ExamResult(score=70, passed=True))
        await h.signal(AttemptWorkflow.session_capped)  # its webhook: `session.finished`, capped
        final = await h.result()
        await record_history(h, "capped_by_vendor")
    assert final.capped and stubs.step("learner_finished").detail == {"capped": True}
    assert stubs.closes == 0, "ProctorFree ended it: nothing to close"
