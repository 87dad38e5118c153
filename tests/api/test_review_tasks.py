"""GET /review-tasks, GET /review-tasks/{id} and POST /review-tasks/{id}/decision."""

from __future__ import annotations

import asyncio

from tests.api.helpers import (
    assert_refused,
    learner_takes_exam,
    open_attempt,
    proctored_course,
    review_task_of,
    unique,
)


async def ready_task(stack, course_id: str, method: str = "record_only") -> dict:
    opened = await open_attempt(stack.api, course_id, unique("learner"))
    await learner_takes_exam(stack, opened["attempt_id"])
    return await review_task_of(
        stack, opened["attempt_id"], "not_ready" if method == "full" else "ready_for_review"
    )


async def decide(stack, task_id: str, decision: str, reviewer: str = "rita@lms"):
    return await stack.api.post(
        f"/review-tasks/{task_id}/decision", json={"decision": decision, "reviewer": reviewer}
    )


async def test_the_task_list_filters_by_course_state_and_openness_and_pages(stack):
    course_id, _ = await proctored_course(stack.api)
    tasks = await asyncio.gather(*(ready_task(stack, course_id) for _ in range(3)))
    assert (await decide(stack, tasks[0]["id"], "pass")).status_code == 200

    async def page(**params) -> dict:
        response = await stack.api.get("/review-tasks", params={"course_id": course_id} | params)
        assert response.status_code == 200, response.text
        return response.json()

    everything = await page()
    assert everything["total"] == 3
    assert {t["type"] for t in everything["items"]} == {"Proctoring Review"}
    assert (await page(state="passed"))["total"] == 1
    assert (await page(state="ready_for_review"))["total"] == 2
    assert {t["id"] for t in (await page(open="true"))["items"]} == {tasks[1]["id"], tasks[2]["id"]}
    assert [t["id"] for t in (await page(open="false"))["items"]] == [tasks[0]["id"]]
    first, rest = await page(limit=2), await page(limit=2, offset=2)
    assert len(first["items"]) == 2 and len(rest["items"]) == 1 and rest["total"] == 3
    assert {t["id"] for t in first["items"] + rest["items"]} == {t["id"] for t in tasks}


async def test_a_not_ready_task_tells_the_reviewer_that_proctorfree_is_still_auditing(stack):
    course_id, _ = await proctored_course(stack.api, method="full")
    task = await ready_task(stack, course_id, method="full")

    assert task["state"] == "not_ready"
    assert "usually does within 24 hours" in task["notice"]
    error = assert_refused(await decide(stack, task["id"], "pass"), 409, "not ready", "24 hours")
    assert error["details"]["state"] == "not_ready"


async def test_a_decided_task_keeps_its_decision_and_points_to_course_progress_for_a_change(stack):
    course_id, _ = await proctored_course(stack.api)
    task = await ready_task(stack, course_id)
    assert (await decide(stack, task["id"], "fail")).json()["accepted"] is True

    same = await decide(stack, task["id"], "fail")
    other = await decide(stack, task["id"], "pass")

    assert same.status_code == 200 and same.json()["accepted"] is False
    assert "nothing changed" in same.json()["message"]
    assert_refused(other, 409, "course progress")
    detail = (await stack.api.get(f"/review-tasks/{task['id']}")).json()
    assert detail["state"] == "failed"
    assert f"/learners/{detail['learner_id']}/lessons/exam" in detail["notice"]


async def test_bad_filters_and_decisions_say_what_to_fix(stack):
    assert_refused(await stack.api.get("/review-tasks", params={"state": "almost"}), 422, "state")
    assert_refused(await stack.api.get("/review-tasks", params={"limit": 0}), 422, "limit")
    assert_refused(await stack.api.get("/review-tasks", params={"offset": -1}), 422, "offset")
    assert_refused(await stack.api.get("/review-tasks", params={"open": "maybe"}), 422, "open")
    course_id, _ = await proctored_course(stack.api)
    task = await ready_task(stack, course_id)
    url = f"/review-tasks/{task['id']}/decision"
    assert_refused(await stack.api.post(url, json={"decision": "maybe", "reviewer": "r"}), 422, "decision")
    assert_refused(await stack.api.post(url, json={"decision": "pass"}), 422, "reviewer")
    assert_refused(
        await stack.api.post(url, content=b"decision=pass", headers={"Content-Type": "application/json"}),
        422,
        "JSON",
    )


async def test_an_unknown_task_answers_404(stack):
    assert_refused(await stack.api.get("/review-tasks/no-such-task"), 404, "no-such-task")
    assert_refused(await decide(stack, "no-such-task", "pass"), 404, "no-such-task")
