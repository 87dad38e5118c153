"""The whole life of a proctored attempt through the API and ProctorFree's webhooks: the LMS
opens the lesson, the learner starts, takes the quiz and presses FINISH, a "Proctoring Review"
task appears (ready at once for record only; after ProctorFree's audit for full proctoring), a
reviewer passes it, and the lesson, the course and its certificate complete."""

from __future__ import annotations

import pytest

from tests.api.helpers import (
    assert_refused,
    learner_takes_exam,
    open_attempt,
    proctored_course,
    review_task_of,
    unique,
)


@pytest.mark.parametrize("method", ["record_only", "full"])
async def test_a_passed_review_completes_the_lesson_the_course_and_issues_the_certificate(stack, method):
    course_id, _ = await proctored_course(
        stack.api, method=method, requires_validation=True, certificate=True
    )
    learner_id = unique("learner")
    opened = await open_attempt(stack.api, course_id, learner_id)

    session_id = await learner_takes_exam(stack, opened["attempt_id"], passed=True, score=91)

    if method == "full":
        # "ProctorFree audits fully proctored sessions usually within 24 hours."
        task = await review_task_of(stack, opened["attempt_id"], "not_ready")
        assert "not finished auditing" in task["notice"]
        early = await stack.api.post(
            f"/review-tasks/{task['id']}/decision", json={"decision": "pass", "reviewer": "rita"}
        )
        assert_refused(early, 409, "not ready")
        await stack.control("audit", session_id, outcome="clean")
    task = await review_task_of(stack, opened["attempt_id"], "ready_for_review")
    assert task["type"] == "Proctoring Review"
    assert task["completed_at"] is None
    assert task["review_url"].startswith(stack.emulator_url)
    before = (await stack.api.get(f"/courses/{course_id}/learners/{learner_id}/progress")).json()
    assert before["lessons"][0]["completed"] is False  # requires validation: waits for the reviewer

    decided = await stack.api.post(
        f"/review-tasks/{task['id']}/decision", json={"decision": "pass", "reviewer": "rita@lms"}
    )

    assert decided.status_code == 200, decided.text
    reply = decided.json()
    assert reply["accepted"] is True and reply["decision"] == "pass"
    assert "course completed" in reply["message"] and "certificate issued" in reply["message"]
    progress = (await stack.api.get(f"/courses/{course_id}/learners/{learner_id}/progress")).json()
    lesson = progress["lessons"][0]
    assert lesson["completed"] is True and lesson["success"] is True
    assert lesson["score"] == 91 and lesson["proctoring_result"] == "passed"
    assert progress["course"]["completed"] is True and progress["course"]["success"] is True
    assert progress["certificate"] is not None
    done = (await stack.api.get(f"/review-tasks/{task['id']}")).json()
    assert done["state"] == "passed" and done["decided_by"] == "rita@lms"
    assert done["completed_at"] is not None  # "Task completed at"
    attempt = await stack.wait_for_attempt(opened["attempt_id"], lambda a: a["status"] == "completed")
    assert attempt["review_task"]["state"] == "passed"
