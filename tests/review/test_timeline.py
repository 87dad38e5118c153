"""The task page's timeline: every step of an attempt's event log is told, the bookkeeping notes
are not, and an attempt cancelled by ops says so."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html import unescape

import httpx
import pytest

from models.statuses import StepEvent
from models.tables import AttemptEvent
from starter import ops
from tests.review.world import ReviewWorld
from web.review.timeline import audit_escalates_at, timeline

START = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
BOOKKEEPING = {StepEvent.EXAM_RESULT_IGNORED, StepEvent.DECISION_IGNORED}


def event(name: str, seq: int = 1, **detail) -> AttemptEvent:
    at = START + timedelta(minutes=seq)
    return AttemptEvent(attempt_id="a1", seq=seq, at=at, event=name, detail=detail)


@pytest.mark.parametrize("step", sorted(set(StepEvent) - BOOKKEEPING))
def test_every_step_of_the_event_log_is_told(step):
    told = timeline([event(step)])

    assert len(told) == 1
    assert told[0].title and told[0].kind in {"done", "wait", "decision", "problem"}
    assert told[0].at == START + timedelta(minutes=1)


@pytest.mark.parametrize("note", sorted(BOOKKEEPING))
def test_ignored_repeats_are_bookkeeping_not_part_of_the_story(note):
    assert timeline([event(note)]) == []


def test_a_step_name_this_version_does_not_know_is_left_out():
    assert timeline([event("from_a_newer_worker")]) == []


def test_a_cancelled_attempt_says_ops_cancelled_it():
    steps = timeline(
        [
            event(StepEvent.OPENED, 0),
            event(StepEvent.VENDOR_SESSION_CREATED, 1),
            event(StepEvent.CANCELLED, 2, reason="cancelled by ops"),
        ]
    )

    assert [(s.title, s.note, s.kind) for s in steps][-1] == ("Cancelled", "cancelled by ops", "problem")
    assert [s.title for s in steps] == ["Lesson opened", "ProctorFree session created", "Cancelled"]


@pytest.mark.parametrize(
    ("decision", "title"), [("pass", "Proctoring passed"), ("fail", "Proctoring failed")]
)
def test_the_decision_step_says_which_and_by_whom(decision, title):
    (step,) = timeline([event(StepEvent.DECIDED, decision=decision, by="rita")])
    assert (step.title, step.note, step.kind) == (title, "by rita", "decision")


async def test_the_task_page_of_an_attempt_cancelled_by_ops_shows_the_cancellation(
    world: ReviewWorld, reviewer: httpx.AsyncClient
):
    taken = await world.learner_finishes("Katherine Johnson")  # waits for ProctorFree's audit
    task = world.task(taken.attempt_id)

    await ops.cancel(world.stack.client, world.stack.sessions, taken.attempt_id)
    await world.wait_for_attempt(taken.attempt_id, "expired")

    page = await reviewer.get(f"/review/tasks/{task.id}")
    assert page.status_code == 200
    timeline_html = unescape(re.search(r'<ol class="timeline" id="timeline">(.*?)</ol>', page.text, re.S)[1])
    assert "<strong>Cancelled</strong>" in timeline_html and "cancelled by ops" in timeline_html
    assert '<li class="problem">' in timeline_html


def test_the_audit_wait_says_when_a_missing_audit_is_escalated_by_the_deadline_setting():
    """Issue 20, case 8: the UI said "within 24 h" while the escalation deadline is a setting."""
    escalates_at = START + timedelta(hours=28)
    (step,) = timeline([event(StepEvent.AWAITING_AUDIT, 3, escalates_at=escalates_at.isoformat())])

    assert step.note == "usually within 24 hours; escalated at 2025-03-02 13:00 UTC if it has not arrived"
    assert audit_escalates_at(
        [event(StepEvent.AWAITING_AUDIT, 3, escalates_at=escalates_at.isoformat())]
    ) == (escalates_at)


@pytest.mark.parametrize(
    ("step", "detail", "told"),
    [
        (
            StepEvent.TIME_EXTENDED,
            {"minutes": 15, "allowed_minutes": 75, "reason": "fire alarm", "by": "rita"},
            ("Time added", "15 minutes by rita: fire alarm; the session now has 75 minutes", "done"),
        ),
        (
            StepEvent.TIME_EXTENDED,
            {
                "minutes": 5,
                "allowed_minutes": 65,
                "reason": "x",
                "by": "rita",
                "vendor_not_updated": "timeout",
            },
            (
                "Time added",
                "5 minutes by rita: x; the session now has 65 minutes; "
                "ProctorFree did not take the change (timeout)",
                "done",
            ),
        ),
        (
            StepEvent.STAFF_ACTION,
            {"action": "check_now", "reason": "learner says done", "by": "ops@lms"},
            ("ProctorFree asked now", "by ops@lms: learner says done", "done"),
        ),
        (
            StepEvent.STAFF_ACTION,
            {"action": "resume", "reason": "key rotated", "by": "cli"},
            ("Resumed by staff", "by cli: key rotated", "done"),
        ),
        (
            StepEvent.VOIDED,
            {"action": "reset", "reason": "webcam broke", "by": "rita"},
            ("Reset by staff", "by rita: webcam broke; the learner may open the next attempt", "problem"),
        ),
        (
            StepEvent.VOIDED,
            {"action": "void", "reason": "opened by mistake", "by": "rita"},
            ("Voided by staff", "by rita: opened by mistake", "problem"),
        ),
        (
            StepEvent.SESSION_NOT_CLOSED,
            {"reason": "ProctorFree refused the integration's API credentials"},
            (
                "ProctorFree session not closed",
                "ProctorFree refused the integration's API credentials",
                "problem",
            ),
        ),
    ],
)
def test_staff_steps_say_what_was_done_by_whom_and_why(step, detail, told):
    (shown,) = timeline([event(step, **detail)])
    assert (shown.title, shown.note, shown.kind) == told
