"""What the demo LMS learns from events, without a stack: each event once, and a late older event
never undoes a newer one (deliveries and the start-up catch-up from the feed may cross)."""

from __future__ import annotations

from demo_lms.ledger import Ledger

COURSE = {"course_id": "c-1", "learner_id": "learner-ada"}


def status(attempt_status: str) -> dict:
    return COURSE | {"attempt_id": "a-1", "lesson_id": "exam", "attempt_number": 1, "status": attempt_status}


def test_an_event_is_taken_once_and_an_older_one_arriving_late_changes_nothing():
    ledger = Ledger()

    taken = [
        ledger.take("e-2", "attempt.status_changed", "2030-01-01T10:00:05+00:00", status("in_progress")),
        ledger.take("e-2", "attempt.status_changed", "2030-01-01T10:00:05+00:00", status("in_progress")),
        ledger.take("e-1", "attempt.status_changed", "2030-01-01T10:00:01+00:00", status("awaiting_setup")),
    ]

    record = ledger.of("c-1", "learner-ada")
    assert taken == [True, False, True]
    assert record.attempts["a-1"].values["status"] == "in_progress"
    assert [event.id for event in record.events] == ["e-2", "e-1"]


def test_completions_revocations_and_result_changes_are_kept_by_learner_and_course():
    ledger = Ledger()
    lesson = COURSE | {"lesson_id": "exam", "success": True, "score": 90, "proctoring_result": "passed"}
    ledger.take("e-1", "lesson.completed", "2030-01-01T10:00:00+00:00", lesson)
    ledger.take("e-2", "course.completed", "2030-01-01T10:00:00+00:00", COURSE | {"success": True})
    ledger.take("e-3", "certificate.issued", "2030-01-01T10:00:00+00:00", COURSE | {"certificate_id": "x"})
    changed = COURSE | {"lesson_id": "exam", "previous": "passed", "new": "failed"}
    ledger.take("e-4", "result.changed", "2030-01-01T11:00:00+00:00", changed)
    ledger.take("e-5", "course.uncompleted", "2030-01-01T11:00:00+00:00", COURSE | {"success": False})
    ledger.take("e-6", "certificate.revoked", "2030-01-01T11:00:00+00:00", COURSE | {"certificate_id": "x"})
    ignored = ledger.take("e-7", "lesson.completed", "2030-01-01T11:00:00+00:00", {"lesson_id": "exam"})

    record = ledger.of("c-1", "learner-ada")
    assert record.lessons["exam"].values["proctoring_result"] == "failed"
    assert record.course.values["completed"] is False
    assert record.certificate.values["issued"] is False
    assert ignored is False  # no learner, no course: nothing to keep it under
    assert not ledger.of("c-1", "learner-grace").events  # another learner's record is apart
