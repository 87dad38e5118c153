"""A learner's course progress, and the proctoring column changed after the fact: "Please note
that you need to manually change the course completion, success status, and score" in the
source; here the change may re-evaluate them on request."""

from __future__ import annotations

from tests.api.helpers import (
    assert_refused,
    exam_lesson,
    learner_takes_exam,
    open_attempt,
    proctored_course,
    put_course,
    review_task_of,
    unique,
)


def change(result: str, reevaluate: bool = False, reason: str = "appeal upheld after video review") -> dict:
    return {
        "proctoring_result": result,
        "reason": reason,
        "changed_by": "dean@lms",
        "reevaluate_course": reevaluate,
    }


async def passed_course(stack) -> tuple[str, str]:
    """A learner whose proctored exam was passed by a reviewer: lesson, course and certificate done."""
    course_id, _ = await proctored_course(stack.api, method="record_only", requires_validation=True)
    learner_id = unique("learner")
    opened = await open_attempt(stack.api, course_id, learner_id)
    await learner_takes_exam(stack, opened["attempt_id"], passed=True, score=80)
    task = await review_task_of(stack, opened["attempt_id"], "ready_for_review")
    decided = await stack.api.post(
        f"/review-tasks/{task['id']}/decision", json={"decision": "pass", "reviewer": "r"}
    )
    assert decided.status_code == 200, decided.text
    return course_id, learner_id


async def test_a_learner_without_attempts_has_nothing_complete(stack):
    course_id = unique("course")
    await put_course(stack.api, course_id, [exam_lesson(), exam_lesson("survey", required=False)])

    progress = (await stack.api.get(f"/courses/{course_id}/learners/{unique('learner')}/progress")).json()

    assert [lesson["lesson_id"] for lesson in progress["lessons"]] == ["exam", "survey"]
    assert not any(lesson["completed"] for lesson in progress["lessons"])
    assert progress["course"] == {"completed": False, "completed_at": None, "success": None, "score": None}
    assert progress["certificate"] is None and progress["changes"] == []


async def test_changing_a_result_leaves_course_completion_alone_unless_asked(stack):
    course_id, learner_id = await passed_course(stack)
    url = f"/courses/{course_id}/learners/{learner_id}/lessons/exam"

    response = await stack.api.patch(url, json=change("failed"))

    assert response.status_code == 200, response.text
    reply = response.json()
    assert reply["applied_as"] == "change" and reply["previous"] == "passed" and reply["new"] == "failed"
    assert "left as they were" in reply["message"]
    progress = (await stack.api.get(f"/courses/{course_id}/learners/{learner_id}/progress")).json()
    assert progress["lessons"][0]["proctoring_result"] == "failed"
    assert progress["lessons"][0]["success"] is True  # untouched, as in the source
    assert progress["course"]["success"] is True
    assert progress["changes"][0] | {"at": None} == {
        "lesson_id": "exam",
        "previous": "passed",
        "new": "failed",
        "reason": "appeal upheld after video review",
        "changed_by": "dean@lms",
        "reevaluated_course": False,
        "at": None,
    }


async def test_a_change_with_reevaluation_un_completes_a_course_that_no_longer_qualifies(stack):
    course_id, learner_id = await passed_course(stack)
    before = (await stack.api.get(f"/courses/{course_id}/learners/{learner_id}/progress")).json()
    assert before["certificate"] is not None

    response = await stack.api.patch(
        f"/courses/{course_id}/learners/{learner_id}/lessons/exam", json=change("failed", reevaluate=True)
    )

    assert response.status_code == 200, response.text
    assert response.json()["message"].endswith(
        "course no longer complete (failed, and the course does not "
        "complete on failure of its score lesson); certificate revoked"
    )
    progress = (await stack.api.get(f"/courses/{course_id}/learners/{learner_id}/progress")).json()
    assert progress["lessons"][0]["success"] is False
    assert progress["course"]["completed"] is False and progress["certificate"] is None


async def test_an_optional_lesson_that_requires_validation_is_decided_from_course_progress(stack):
    # No review task for an optional lesson: the progress page is where it is passed or failed.
    course_id, _ = await proctored_course(
        stack.api, method="record_only", required=False, requires_validation=True
    )
    learner_id = unique("learner")
    opened = await open_attempt(stack.api, course_id, learner_id)
    await learner_takes_exam(stack, opened["attempt_id"])
    attempt = await stack.wait_for_attempt(opened["attempt_id"], lambda a: a["status"] == "ready_for_review")
    assert attempt["review_task"] is None

    response = await stack.api.patch(
        f"/courses/{course_id}/learners/{learner_id}/lessons/exam", json=change("passed")
    )

    assert response.status_code == 200, response.text
    reply = response.json()
    assert reply["applied_as"] == "decision" and reply["new"] == "passed"
    assert "lesson completed" in reply["message"]
    progress = (await stack.api.get(f"/courses/{course_id}/learners/{learner_id}/progress")).json()
    assert progress["lessons"][0]["completed"] is True
    assert progress["lessons"][0]["proctoring_result"] == "passed"
    assert progress["changes"][0]["reason"] == "appeal upheld after video review"


async def test_a_lesson_that_is_not_complete_has_no_result_to_change(stack):
    course_id, _ = await proctored_course(stack.api)

    response = await stack.api.patch(
        f"/courses/{course_id}/learners/{unique('learner')}/lessons/exam", json=change("passed")
    )

    assert_refused(response, 409, "not complete")


async def test_bad_changes_and_unknown_ids_say_what_to_fix(stack):
    course_id, _ = await proctored_course(stack.api)
    url = f"/courses/{course_id}/learners/l-1/lessons/exam"
    assert_refused(await stack.api.patch(url, json=change("passed", reason="")), 422, "reason")
    assert_refused(await stack.api.patch(url, json=change("passed") | {"reason": "   "}), 422, "reason")
    assert_refused(await stack.api.patch(url, json=change("excellent")), 422, "proctoring_result")
    assert_refused(
        await stack.api.patch(url, json={"proctoring_result": "passed"}), 422, "reason", "changed_by"
    )
    assert_refused(
        await stack.api.patch(url, content=b"[", headers={"Content-Type": "application/json"}), 422, "JSON"
    )
    assert_refused(
        await stack.api.patch(f"/courses/{course_id}/learners/l-1/lessons/nope", json=change("passed")),
        404,
        "nope",
    )
    assert_refused(
        await stack.api.get("/courses/no-such-course/learners/l-1/progress"), 404, "no-such-course"
    )
