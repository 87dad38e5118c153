"""Manual overrides, as the source product's admins make them: a proctored lesson's score,
success and completion, and a learner's course completion, set by hand with a reason. Each is
kept (who, why, before, after), listed newest first, and told to the LMS as `progress.overridden`
without the reason's text; a refused override writes nothing.

A learner is known to ProctorFlow once the LMS reports a lesson of theirs (the course's intro
video, not proctored), which is how most tests here get one without running an attempt."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.api.helpers import (
    add_integration,
    assert_refused,
    learner_takes_exam,
    open_attempt,
    proctored_course,
    put_course,
    review_task_of,
    unique,
)
from tests.support.stack import Stack

INTRO = {"id": "intro", "title": "Welcome video", "type": "video", "required": True}
EXAM = {"id": "exam", "title": "Final exam", "type": "quiz", "required": True}
REASON = "Ada Lovelace appealed; proctor Grace Hopper confirmed a network fault"
BY = "dean@lms"


async def intro_and_exam_course(api: httpx.AsyncClient) -> str:
    """A required intro video (not proctored) and a required proctored final exam that gives the
    course its score; the course has a certificate and does not complete on failure."""
    integration = await add_integration(api)
    course_id = unique("course")
    await put_course(api, course_id, [INTRO, EXAM], score_lesson_id="exam", certificate=True)
    proctoring = {"integration_id": integration["id"], "method": "record_only", "requires_validation": False}
    reply = await api.put(f"/courses/{course_id}/lessons/exam/proctoring", json=proctoring)
    assert reply.status_code == 200, reply.text
    return course_id


async def learner_who_watched_the_intro(api: httpx.AsyncClient, course_id: str) -> str:
    learner_id = unique("learner")
    reply = await api.put(
        f"/courses/{course_id}/learners/{learner_id}/lessons/intro/completion", json={"completed": True}
    )
    assert reply.status_code == 200, reply.text
    return learner_id


def lesson_url(course_id: str, learner_id: str, lesson_id: str = "exam") -> str:
    return f"/courses/{course_id}/learners/{learner_id}/lessons/{lesson_id}"


def completion_url(course_id: str, learner_id: str) -> str:
    return f"/courses/{course_id}/learners/{learner_id}/completion"


def override(**fields) -> dict:
    return {"reason": REASON, "changed_by": BY, **fields}


async def patch_ok(stack: Stack, url: str, body: dict) -> dict:
    reply = await stack.api.patch(url, json=body)
    assert reply.status_code == 200, reply.text
    return reply.json()


async def overrides_of(api: httpx.AsyncClient, course_id: str, learner_id: str) -> list[dict]:
    reply = await api.get(f"/courses/{course_id}/learners/{learner_id}/overrides")
    assert reply.status_code == 200, reply.text
    return reply.json()["items"]


async def progress_of(stack: Stack, course_id: str, learner_id: str) -> dict:
    reply = await stack.api.get(f"/courses/{course_id}/learners/{learner_id}/progress")
    assert reply.status_code == 200, reply.text
    return reply.json()


def exam_of(progress: dict) -> dict:
    return next(lesson for lesson in progress["lessons"] if lesson["lesson_id"] == "exam")


async def feed_end(stack: Stack) -> str:
    """The organisation's feed cursor after its last event so far."""
    cursor = "0"
    while True:
        page = (await stack.api.get("/events", params={"after": cursor, "limit": 500})).json()
        cursor = page["next_cursor"]
        if len(page["events"]) < 500:
            return cursor


async def events_since(stack: Stack, cursor: str, course_id: str) -> list[dict]:
    """The course's events after the cursor, in the feed's order (attempt and task events aside)."""
    reply = await stack.api.get("/events", params={"after": cursor, "limit": 500})
    assert reply.status_code == 200, reply.text
    return [
        event
        for event in reply.json()["events"]
        if event["data"].get("course_id") == course_id
        and event["type"] not in ("attempt.status_changed", "review_task.changed")
    ]


SET_UP = {"completed": True, "success": True, "score": 80}


async def completed_exam(stack: Stack) -> tuple[str, str]:
    """A learner whose exam was completed by hand, as SET_UP says (the course is left alone)."""
    course_id = await intro_and_exam_course(stack.api)
    learner_id = await learner_who_watched_the_intro(stack.api, course_id)
    await patch_ok(stack, lesson_url(course_id, learner_id), override(**SET_UP))
    return course_id, learner_id


# --- A proctored lesson ---------------------------------------------------------------------


async def test_completing_a_lesson_the_learner_has_not_started_creates_it_and_leaves_the_course(stack):
    course_id = await intro_and_exam_course(stack.api)
    learner_id = await learner_who_watched_the_intro(stack.api, course_id)
    cursor = await feed_end(stack)

    progress = await patch_ok(stack, lesson_url(course_id, learner_id), override(completed=True))

    exam = exam_of(progress)
    assert exam["completed"] is True and exam["completed_at"] is not None
    assert (exam["success"], exam["score"]) == (True, None)  # no success yet: completing by hand passes
    assert progress["course"]["completed"] is False and progress["certificate"] is None  # not re-evaluated
    assert progress["result_change"] is None
    assert progress == await progress_of(stack, course_id, learner_id) | {"result_change": None}
    [record] = await overrides_of(stack.api, course_id, learner_id)
    assert record["lesson_id"] == "exam" and (record["reason"], record["changed_by"]) == (REASON, BY)
    assert record["before"] == {"completed": False, "completed_at": None, "success": None}
    assert record["after"] == {
        "completed": True,
        "completed_at": record["after"]["completed_at"],
        "success": True,
    }
    events = await events_since(stack, cursor, course_id)
    assert [event["type"] for event in events] == ["lesson.completed", "progress.overridden"]
    assert events[1]["data"] == {
        "course_id": course_id,
        "learner_id": learner_id,
        "lesson_id": "exam",
        "fields": record["after"],
    }


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"score": 42.5}, {"completed": True, "success": True, "score": 42.5}),
        ({"success": False}, {"completed": True, "success": False, "score": 80}),
        ({"completed": False}, {"completed": False, "success": True, "score": 80}),
        (
            {"completed": False, "success": False, "score": 0},
            {"completed": False, "success": False, "score": 0},
        ),
    ],
    ids=["score", "success", "un-completed", "all-together"],
)
async def test_each_field_alone_or_together_changes_that_and_nothing_else(stack, fields, expected):
    course_id, learner_id = await completed_exam(stack)
    cursor = await feed_end(stack)

    progress = await patch_ok(stack, lesson_url(course_id, learner_id), override(**fields))

    exam = exam_of(progress)
    assert {name: exam[name] for name in expected} == expected
    assert (exam["completed_at"] is None) is (not expected["completed"])
    record = (await overrides_of(stack.api, course_id, learner_id))[0]  # newest first
    changed = [*fields] + (["completed_at"] if "completed" in fields else [])
    assert sorted(record["before"]) == sorted(record["after"]) == sorted(changed)
    assert {name: record["before"][name] for name in fields} == {name: SET_UP[name] for name in fields}
    assert {name: record["after"][name] for name in fields} == fields
    [told] = await events_since(stack, cursor, course_id)
    assert told["type"] == "progress.overridden" and told["data"]["fields"] == record["after"]


async def test_completing_a_completed_lesson_again_keeps_its_date_success_and_score(stack):
    course_id, learner_id = await completed_exam(stack)
    before = exam_of(await progress_of(stack, course_id, learner_id))

    exam = exam_of(await patch_ok(stack, lesson_url(course_id, learner_id), override(completed=True)))

    assert exam == before
    assert (await overrides_of(stack.api, course_id, learner_id))[0]["after"]["completed_at"] == (
        before["completed_at"].replace("Z", "+00:00")
    )


async def test_a_lesson_override_re_evaluates_the_course_only_when_asked(stack):
    course_id = await intro_and_exam_course(stack.api)
    learner_id = await learner_who_watched_the_intro(stack.api, course_id)
    cursor = await feed_end(stack)

    done = await patch_ok(
        stack, lesson_url(course_id, learner_id), override(completed=True, score=90, reevaluate_course=True)
    )

    assert done["course"] | {"completed_at": None} == {
        "completed": True,
        "completed_at": None,
        "success": True,
        "score": 90,
    }
    assert done["certificate"] is not None
    told = [event["type"] for event in await events_since(stack, cursor, course_id)]
    assert told == ["lesson.completed", "course.completed", "certificate.issued", "progress.overridden"]

    failed = await patch_ok(
        stack, lesson_url(course_id, learner_id), override(success=False, reevaluate_course=True)
    )

    assert failed["course"]["completed"] is False and failed["certificate"] is None


async def test_a_proctoring_result_and_overrides_change_together_in_one_request(stack):
    course_id, _ = await proctored_course(stack.api, method="record_only", requires_validation=True)
    learner_id = unique("learner")
    opened = await open_attempt(stack.api, course_id, learner_id)
    await learner_takes_exam(stack, opened["attempt_id"], passed=True, score=80)
    task = await review_task_of(stack, opened["attempt_id"], "ready_for_review")
    decided = await stack.api.post(
        f"/review-tasks/{task['id']}/decision", json={"decision": "pass", "reviewer": "r"}
    )
    assert decided.status_code == 200, decided.text
    cursor = await feed_end(stack)

    reply = await patch_ok(
        stack, lesson_url(course_id, learner_id), override(proctoring_result="failed", score=30)
    )

    assert reply["result_change"]["applied_as"] == "change"
    assert (reply["result_change"]["previous"], reply["result_change"]["new"]) == ("passed", "failed")
    exam = exam_of(reply)
    assert (exam["proctoring_result"], exam["score"], exam["success"]) == ("failed", 30, True)
    assert reply["course"]["completed"] is True and reply["certificate"] is not None  # not re-evaluated
    assert reply["changes"][0]["reason"] == REASON and reply["changes"][0]["changed_by"] == BY
    [record] = await overrides_of(stack.api, course_id, learner_id)
    assert (record["before"], record["after"]) == ({"score": 80}, {"score": 30})
    told = [event["type"] for event in await events_since(stack, cursor, course_id)]
    assert told == ["result.changed", "progress.overridden"]

    # Re-evaluated, a success set by hand stands over the one the new result would give.
    again = await patch_ok(
        stack,
        lesson_url(course_id, learner_id),
        override(proctoring_result="passed", success=False, reevaluate_course=True),
    )

    assert (exam_of(again)["proctoring_result"], exam_of(again)["success"]) == ("passed", False)
    assert again["course"]["completed"] is False and again["certificate"] is None
    assert again["result_change"]["course_reevaluated"] is True


async def test_a_result_still_awaiting_its_decision_is_not_taken_with_overrides(stack):
    # An optional lesson that requires validation has no review task: the result is its decision.
    course_id, _ = await proctored_course(stack.api, method="record_only", required=False)
    learner_id = unique("learner")
    opened = await open_attempt(stack.api, course_id, learner_id)
    await learner_takes_exam(stack, opened["attempt_id"])
    await stack.wait_for_attempt(opened["attempt_id"], lambda a: a["status"] == "ready_for_review")

    reply = await stack.api.patch(
        lesson_url(course_id, learner_id), json=override(proctoring_result="passed", completed=True)
    )

    assert_refused(reply, 409, "awaits a pass or fail", "proctoring_result alone")
    assert exam_of(await progress_of(stack, course_id, learner_id))["completed"] is False
    assert await overrides_of(stack.api, course_id, learner_id) == []


async def test_a_refused_part_of_an_override_leaves_everything_as_it_was(stack):
    # Un-completing, then changing the result of the now incomplete lesson: the result change
    # refuses, and the un-completion it followed is rolled back with it.
    course_id, learner_id = await completed_exam(stack)
    before = await progress_of(stack, course_id, learner_id)
    cursor = await feed_end(stack)

    reply = await stack.api.patch(
        lesson_url(course_id, learner_id), json=override(completed=False, proctoring_result="passed")
    )

    assert_refused(reply, 409, "not complete")
    assert await progress_of(stack, course_id, learner_id) == before
    assert len(await overrides_of(stack.api, course_id, learner_id)) == 1  # the set-up's only
    assert await events_since(stack, cursor, course_id) == []


# --- Refusals -------------------------------------------------------------------------------


async def test_bad_overrides_say_what_to_fix_and_write_nothing(stack):
    course_id, learner_id = await completed_exam(stack)
    url, course = lesson_url(course_id, learner_id), completion_url(course_id, learner_id)
    before = await progress_of(stack, course_id, learner_id)

    assert_refused(
        await stack.api.patch(url, json={"score": 50, "changed_by": BY}), 422, "reason", "required"
    )
    assert_refused(await stack.api.patch(url, json=override(score=50) | {"reason": "  "}), 422, "reason")
    assert_refused(await stack.api.patch(url, json=override(score=101)), 422, "score", "100")
    assert_refused(await stack.api.patch(url, json=override(score=-1)), 422, "score", "0")
    assert_refused(
        await stack.api.patch(url, json=override()), 422, "at least one of completed, success, score"
    )
    assert_refused(await stack.api.patch(url, json=override(score=50, grade="A")), 422, "grade")
    assert_refused(await stack.api.patch(course, json={"completed": True, "changed_by": BY}), 422, "reason")
    assert_refused(await stack.api.patch(course, json=override()), 422, "completed")
    assert_refused(await stack.api.patch(course, json=override(completed=False, success=True)), 422, "clears")
    assert_refused(await stack.api.patch(course, json=override(completed=True, score=100.5)), 422, "score")

    assert await progress_of(stack, course_id, learner_id) == before
    assert len(await overrides_of(stack.api, course_id, learner_id)) == 1  # the set-up's only


async def test_unknown_ids_and_another_organisations_are_not_found(stack, other_org):
    course_id, learner_id = await completed_exam(stack)
    # A learner the other organisation knows, in a course of its own.
    theirs = unique("course")
    await put_course(other_org, theirs, [INTRO])
    their_learner = await learner_who_watched_the_intro(other_org, theirs)
    body = override(completed=True)

    for url, word in [
        (lesson_url("no-such-course", learner_id), "no-such-course"),
        (lesson_url(course_id, learner_id, "no-such-lesson"), "no-such-lesson"),
        (lesson_url(course_id, unique("stranger")), "stranger"),
        (lesson_url(course_id, their_learner), their_learner),
        (completion_url("no-such-course", learner_id), "no-such-course"),
        (completion_url(course_id, unique("stranger")), "stranger"),
    ]:
        assert_refused(await stack.api.patch(url, json=body), 404, word)
    assert_refused(await other_org.patch(lesson_url(course_id, learner_id), json=body), 404, course_id)
    assert_refused(await other_org.patch(completion_url(course_id, learner_id), json=body), 404, course_id)
    assert_refused(
        await other_org.get(f"/courses/{course_id}/learners/{learner_id}/overrides"), 404, course_id
    )
    assert await overrides_of(other_org, theirs, their_learner) == []
    assert len(await overrides_of(stack.api, course_id, learner_id)) == 1


async def test_a_lesson_that_is_not_proctored_is_refused_with_where_its_completion_comes_from(stack):
    course_id = await intro_and_exam_course(stack.api)
    learner_id = await learner_who_watched_the_intro(stack.api, course_id)

    reply = await stack.api.patch(lesson_url(course_id, learner_id, "intro"), json=override(success=False))

    assert_refused(reply, 409, "not proctored", "/completion")
    assert await overrides_of(stack.api, course_id, learner_id) == []


async def test_a_lesson_without_progress_takes_only_a_completion(stack):
    course_id = await intro_and_exam_course(stack.api)
    learner_id = await learner_who_watched_the_intro(stack.api, course_id)

    reply = await stack.api.patch(lesson_url(course_id, learner_id), json=override(score=50))

    assert_refused(reply, 409, "no progress", "completed true")
    assert exam_of(await progress_of(stack, course_id, learner_id))["score"] is None


# --- A course's completion ------------------------------------------------------------------


async def test_completing_a_course_by_hand_issues_its_certificate_and_un_completing_revokes_it(stack):
    course_id = await intro_and_exam_course(stack.api)
    learner_id = await learner_who_watched_the_intro(stack.api, course_id)
    cursor = await feed_end(stack)

    done = await patch_ok(stack, completion_url(course_id, learner_id), override(completed=True, score=75))

    assert done["course"] | {"completed_at": None} == {
        "completed": True,
        "completed_at": None,
        "success": True,
        "score": 75,
    }
    certificate = done["certificate"]
    assert certificate is not None
    assert exam_of(done)["completed"] is False  # the course alone, not its lessons
    assert done == await progress_of(stack, course_id, learner_id)
    completed = await events_since(stack, cursor, course_id)
    assert [event["type"] for event in completed] == [
        "course.completed",
        "certificate.issued",
        "progress.overridden",
    ]
    assert completed[1]["data"]["certificate_id"] == certificate["id"]
    assert completed[2]["data"] == {
        "course_id": course_id,
        "learner_id": learner_id,
        "lesson_id": None,
        "fields": {
            "completed": True,
            "completed_at": completed[2]["data"]["fields"]["completed_at"],
            "success": True,
            "score": 75,
        },
    }
    cursor = await feed_end(stack)

    undone = await patch_ok(
        stack,
        completion_url(course_id, learner_id),
        {**override(completed=False), "changed_by": "registrar@lms"},
    )

    assert undone["course"] == {"completed": False, "completed_at": None, "success": None, "score": None}
    assert undone["certificate"] is None
    uncompleted = await events_since(stack, cursor, course_id)
    assert [event["type"] for event in uncompleted] == [
        "course.uncompleted",
        "certificate.revoked",
        "progress.overridden",
    ]
    assert uncompleted[1]["data"]["certificate_id"] == certificate["id"]
    newest, first = await overrides_of(stack.api, course_id, learner_id)
    assert (newest["lesson_id"], newest["changed_by"], newest["reason"]) == (None, "registrar@lms", REASON)
    assert newest["before"] == first["after"]
    assert newest["after"] == {"completed": False, "completed_at": None, "success": None, "score": None}
    assert (first["changed_by"], first["before"]["completed"]) == (BY, False)


async def test_a_course_completed_by_hand_without_success_has_no_certificate(stack):
    course_id = await intro_and_exam_course(stack.api)
    learner_id = await learner_who_watched_the_intro(stack.api, course_id)

    done = await patch_ok(
        stack, completion_url(course_id, learner_id), override(completed=True, success=False)
    )

    assert (done["course"]["completed"], done["course"]["success"]) == (True, False)
    assert done["certificate"] is None


async def test_the_reason_never_appears_in_an_event(stack):
    cursor = await feed_end(stack)
    course_id, learner_id = await completed_exam(stack)
    await patch_ok(stack, lesson_url(course_id, learner_id), override(score=12, reevaluate_course=True))
    await patch_ok(stack, completion_url(course_id, learner_id), override(completed=True, success=True))
    await patch_ok(stack, completion_url(course_id, learner_id), override(completed=False))

    told = await events_since(stack, cursor, course_id)

    assert [event["type"] for event in told].count("progress.overridden") == 4
    assert {"course.completed", "certificate.issued", "certificate.revoked"} <= {e["type"] for e in told}
    assert "Lovelace" not in json.dumps(told) and "Hopper" not in json.dumps(told)
    assert {record["reason"] for record in await overrides_of(stack.api, course_id, learner_id)} == {REASON}
