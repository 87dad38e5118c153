"""Accommodations and time limits over the API (SPEC, "Accommodations and time limits"): a
lesson's limit, a learner's extra time one by one and in bulk, every change kept, and the
minutes an opened attempt gets, at ProctorFree too. Over real HTTP against the running stack."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from proctorfree.client import ProctorFreeClient
from proctorfree.interface import VendorCredentials
from tests.api.helpers import (
    API_KEY,
    API_SECRET,
    add_integration,
    assert_refused,
    learner_takes_exam,
    open_attempt,
    put_course,
    review_task_of,
    unique,
    vendor_session,
)
from tests.support.stack import Stack

CREDENTIALS = VendorCredentials(api_key=API_KEY, api_secret=API_SECRET)
EXAM = {"id": "exam", "title": "Final exam", "type": "quiz", "required": True}
QUIZ = {"id": "quiz", "title": "Unit quiz", "type": "quiz", "required": False}
INTRO = {"id": "intro", "title": "Welcome video", "type": "video", "required": True}


async def timed_course(stack: Stack, minutes: int | None = 60, method: str = "full") -> str:
    """A course whose final exam (and unit quiz) are proctored with a time limit."""
    integration = await add_integration(stack.api)
    course_id = unique("course")
    await put_course(stack.api, course_id, [INTRO, QUIZ, EXAM], score_lesson_id="exam")
    for lesson in ("exam", "quiz"):
        settings = {"integration_id": integration["id"], "method": method, "time_limit_minutes": minutes}
        reply = await stack.api.put(f"/courses/{course_id}/lessons/{lesson}/proctoring", json=settings)
        assert reply.status_code == 200, reply.text
    return course_id


def path(course_id: str, learner_id: str) -> str:
    return f"/courses/{course_id}/learners/{learner_id}/accommodation"


async def test_settings_keep_the_time_limit_and_warn_past_the_vendors_cap(stack: Stack):
    integration = await add_integration(stack.api)
    course_id = unique("course")
    await put_course(stack.api, course_id, [EXAM])
    url = f"/courses/{course_id}/lessons/exam/proctoring"
    base = {"integration_id": integration["id"], "method": "full"}

    within = await stack.api.put(url, json=base | {"time_limit_minutes": 120})
    over = await stack.api.put(url, json=base | {"time_limit_minutes": 240})
    practice = await stack.api.put(url, json=base | {"method": "practice", "time_limit_minutes": 20})

    assert within.json()["time_limit_minutes"] == 120 and within.json()["warnings"] == []
    assert over.status_code == 200 and "cap of 210 minutes" in over.json()["warnings"][0]
    assert any("whatever a learner's accommodation" in w for w in practice.json()["warnings"])
    course = (await stack.api.get(f"/courses/{course_id}")).json()
    assert course["lessons"][0]["proctoring"]["time_limit_minutes"] == 20
    for bad in (0, -5, "an hour"):
        assert_refused(
            await stack.api.put(url, json=base | {"time_limit_minutes": bad}), 422, "time_limit_minutes"
        )


async def test_an_accommodation_gives_the_opened_attempt_its_minutes_at_proctorfree_too(stack: Stack):
    course_id, learner = await timed_course(stack), unique("learner")
    body = {
        "time_multiplier": 1.5,
        "note": "Screen reader; allow breaks.",
        "reason": "disability office",
        "changed_by": "ana@lms",
    }
    set_reply = await stack.api.put(path(course_id, learner), json=body)
    assert set_reply.status_code == 200, set_reply.text
    assert set_reply.json()["allowed_minutes"] == {"quiz": 90, "exam": 90}
    assert set_reply.json()["in_force"] is True

    opened = await open_attempt(stack.api, course_id, learner)
    assert opened["allowed_minutes"] == 90
    session_id = await vendor_session(stack, opened["attempt_id"])
    async with ProctorFreeClient(stack.emulator_url) as vendor:
        at_vendor = await vendor.get_session(CREDENTIALS, session_id)
    assert at_vendor.time_limit_minutes == 90
    review_page = await stack.emulator.get(at_vendor.review_url)  # where ProctorFree's reviewer looks
    assert "Screen reader; allow breaks." in review_page.text
    attempt = (await stack.api.get(f"/attempts/{opened['attempt_id']}")).json()
    assert (attempt["allowed_minutes"], attempt["accommodated"]) == (90, True)
    await learner_takes_exam(stack, opened["attempt_id"])
    task = await review_task_of(stack, opened["attempt_id"], "not_ready")
    assert (task["accommodated"], task["allowed_minutes"]) == (True, 90)  # the reviewer's badge

    others = await open_attempt(stack.api, course_id, unique("learner"))
    assert others["allowed_minutes"] == 60  # the lesson's own limit


async def test_an_expired_accommodation_no_longer_applies(stack: Stack):
    course_id, learner = await timed_course(stack), unique("learner")
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    reply = await stack.api.put(path(course_id, learner), json={"extra_minutes": 30, "expires_at": past})
    assert reply.status_code == 200 and reply.json()["in_force"] is False
    assert (await open_attempt(stack.api, course_id, learner))["allowed_minutes"] == 60


async def test_an_accommodation_for_some_lessons_leaves_the_others_alone(stack: Stack):
    course_id, learner = await timed_course(stack), unique("learner")
    reply = await stack.api.put(path(course_id, learner), json={"extra_minutes": 15, "lesson_ids": ["quiz"]})
    assert reply.json()["allowed_minutes"] == {"quiz": 75}
    assert (await open_attempt(stack.api, course_id, learner))["allowed_minutes"] == 60  # the exam


async def test_every_change_is_kept_with_who_and_why_and_told_without_the_note(stack: Stack):
    course_id, learner = await timed_course(stack), unique("learner")
    await stack.api.put(
        path(course_id, learner), json={"extra_minutes": 15, "reason": "first", "changed_by": "ana"}
    )
    await stack.api.put(
        path(course_id, learner),
        json={"extra_minutes": 30, "note": "private", "reason": "more", "changed_by": "bo"},
    )
    read = (await stack.api.get(path(course_id, learner))).json()
    assert [(c["action"], c["changed_by"], c["reason"]) for c in read["changes"]] == [
        ("set", "bo", "more"),
        ("set", "ana", "first"),
    ]
    assert (
        read["changes"][0]["before"]["extra_minutes"] == 15
        and read["changes"][0]["after"]["extra_minutes"] == 30
    )

    removed = await stack.api.delete(
        path(course_id, learner), params={"reason": "course over", "changed_by": "cy"}
    )
    assert removed.status_code == 204
    assert_refused(await stack.api.get(path(course_id, learner)), 404, "no accommodation")
    feed = (await stack.api.get("/events", params={"limit": 500})).json()["events"]
    told = [e for e in feed if e["type"] == "accommodation.changed" and e["data"]["learner_id"] == learner]
    assert [e["data"]["action"] for e in told] == ["set", "set", "removed"]
    assert "private" not in str(told)
    assert "private" not in read.__repr__()  # the note may tell of a disability: never in a reply


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"time_multiplier": 0}, ("time_multiplier", "greater than 1")),
        ({"time_multiplier": 100}, ("time_multiplier", "less than or equal to 4")),
        ({"extra_minutes": 10, "time_multiplier": 1.5}, ("one of the two",)),
        ({}, ("one of the two",)),
        ({"extra_minutes": "lots"}, ("extra_minutes",)),
        ({"extra_minutes": 10, "colour": "red"}, ("colour",)),
        ({"extra_minutes": 10, "lesson_ids": ["intro"]}, ("proctored lessons", "intro")),
    ],
)
async def test_bad_accommodations_are_refused_saying_what_to_fix(stack: Stack, body, words):
    course_id = await timed_course(stack)
    reply = await stack.api.put(path(course_id, unique("learner")), json=body)
    assert_refused(reply, 422, *words)


async def test_malformed_bodies_unknown_ids_and_another_organisations_ids(
    stack: Stack, other_org: httpx.AsyncClient
):
    course_id, learner = await timed_course(stack), unique("learner")
    assert_refused(await stack.api.put(path(course_id, learner), content=b"{not json"), 422)
    assert_refused(
        await stack.api.put(path("no-such-course", learner), json={"extra_minutes": 5}), 404, "course"
    )
    assert_refused(await stack.api.get(path(course_id, "never-seen")), 404, "no accommodation")
    assert_refused(await stack.api.delete(path(course_id, "never-seen")), 404, "no accommodation")
    await stack.api.put(path(course_id, learner), json={"extra_minutes": 5})
    assert_refused(await other_org.get(path(course_id, learner)), 404)
    assert_refused(await other_org.put(path(course_id, learner), json={"extra_minutes": 5}), 404)
    assert_refused(await other_org.post(f"/courses/{course_id}/accommodations", json={"items": [{}]}), 404)


async def test_bulk_applies_the_good_items_and_reports_each_bad_one_by_its_place(stack: Stack):
    course_id = await timed_course(stack)
    good, other_good = unique("learner"), unique("learner")
    items = [
        {"learner_id": good, "extra_minutes": 20},
        {"learner_id": unique("learner"), "time_multiplier": 9},
        {"extra_minutes": 5},
        {"learner_id": other_good, "time_multiplier": 2, "lesson_ids": ["exam"]},
    ]
    reply = await stack.api.post(f"/courses/{course_id}/accommodations", json={"items": items})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert (body["applied"], body["refused"]) == (2, 2)
    results = body["results"]
    assert [r["ok"] for r in results] == [True, False, False, True]
    assert "time_multiplier" in results[1]["error"] and "learner_id" in results[2]["error"]
    assert results[3]["allowed_minutes"] == {"exam": 120}
    assert (await stack.api.get(path(course_id, good))).json()["extra_minutes"] == 20
    assert_refused(
        await stack.api.post(f"/courses/{course_id}/accommodations", json={"items": []}), 422, "items"
    )


async def test_proctorfree_ends_the_session_at_its_allowed_minutes_and_the_attempt_says_capped(stack: Stack):
    """The emulator enforces the limit as ProctorFree does (here a minute lasts 0.1 s): its
    capped FINISH reaches the workflow by webhook, long before the workflow's own timer."""
    course_id, learner = await timed_course(stack, minutes=10, method="record_only"), unique("learner")
    await stack.api.put(path(course_id, learner), json={"extra_minutes": 5})
    opened = await open_attempt(stack.api, course_id, learner)
    assert opened["allowed_minutes"] == 15
    session_id = await vendor_session(stack, opened["attempt_id"])
    await stack.emulator.put("/emulator/faults", json={"minute_seconds": 0.1})
    try:
        await stack.control("start", session_id)
        finished = await stack.wait_for_attempt(
            opened["attempt_id"],
            lambda a: any(s["event"] == "learner_finished" for s in a["events"]),
            timeout=30,
        )
    finally:
        await stack.emulator.put("/emulator/faults", json={"minute_seconds": 60.0})
    step = next(s for s in finished["events"] if s["event"] == "learner_finished")
    assert step["detail"] == {"capped": True}
    feed = (await stack.api.get("/events", params={"limit": 500})).json()["events"]
    warned = [
        e
        for e in feed
        if e["type"] == "attempt.time_warning" and e["data"]["attempt_id"] == opened["attempt_id"]
    ]
    assert [e["data"]["minutes_left"] for e in warned] == [5]


async def test_open_warns_when_proctorfrees_cap_cuts_the_accommodation_short(stack: Stack):
    course_id, learner = await timed_course(stack, minutes=180), unique("learner")
    reply = await stack.api.put(path(course_id, learner), json={"time_multiplier": 1.5})
    assert any("caps full sessions at 210" in warning for warning in reply.json()["warnings"])
    opened = await open_attempt(stack.api, course_id, learner)
    assert opened["allowed_minutes"] == 210
    assert opened["warnings"] == ["ProctorFree caps full sessions at 210 minutes: the learner has 210"]
    again = await open_attempt(stack.api, course_id, learner)  # every page load: the same answer
    assert (again["allowed_minutes"], again["warnings"]) == (210, opened["warnings"])
