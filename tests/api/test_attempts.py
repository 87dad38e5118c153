"""POST /attempts/open on every page load, the quiz result, and one attempt's status and history."""

from __future__ import annotations

import asyncio

from models.payloads import workflow_id_for
from tests.api.helpers import (
    assert_refused,
    learner_takes_exam,
    open_attempt,
    open_body,
    proctored_course,
    unique,
)


async def test_opening_a_proctored_lesson_returns_what_the_proctoring_page_shows(stack):
    course_id, _ = await proctored_course(stack.api, method="full")

    opened = await open_attempt(stack.api, course_id, unique("learner"))

    assert opened["lesson_title"] == "Final exam"
    assert opened["instructions"] == "Clear your desk and close other applications."
    assert opened["method"] == "full"
    assert opened["status"] == "created"
    assert opened["setup_url"] is None  # ProctorFree's set-up page, once the workflow has the session


async def test_every_page_load_of_the_same_attempt_gets_the_same_answer(stack):
    course_id, _ = await proctored_course(stack.api)
    learner_id = unique("learner")

    first = await open_attempt(stack.api, course_id, learner_id)
    await stack.wait_for_attempt(first["attempt_id"], lambda a: a["status"] == "awaiting_setup")
    reload = await open_attempt(stack.api, course_id, learner_id)

    assert reload["attempt_id"] == first["attempt_id"]
    assert {k: v for k, v in reload.items() if k not in ("status", "setup_url")} == {
        k: v for k, v in first.items() if k not in ("status", "setup_url")
    }
    assert reload["setup_url"].startswith(f"{stack.emulator_url}/s/")


async def test_concurrent_page_loads_of_a_new_attempt_start_one_workflow(stack):
    course_id, _ = await proctored_course(stack.api)
    body = open_body(course_id, unique("learner"))

    replies = await asyncio.gather(*(stack.api.post("/attempts/open", json=body) for _ in range(6)))

    assert [r.status_code for r in replies] == [200] * 6, [r.text for r in replies]
    attempt_ids = {r.json()["attempt_id"] for r in replies}
    assert len(attempt_ids) == 1
    workflow_id = workflow_id_for(attempt_ids.pop())
    description = await stack.client.get_workflow_handle(workflow_id).describe()
    assert [run.run_id for run in await runs_of(stack.client, workflow_id)] == [description.run_id]


async def runs_of(client, workflow_id: str) -> list:
    """Every run Temporal knows for the workflow id (its visibility store lags a moment)."""
    for _ in range(50):
        runs = [w async for w in client.list_workflows(f'WorkflowId = "{workflow_id}"')]
        if runs:
            return runs
        await asyncio.sleep(0.1)
    return []


async def test_the_attempt_shows_its_status_and_history_without_the_learners_name_or_email(stack):
    course_id, _ = await proctored_course(stack.api, method="record_only", requires_validation=True)
    learner_id = unique("learner")
    opened = await open_attempt(stack.api, course_id, learner_id)

    session_id = await learner_takes_exam(stack, opened["attempt_id"], passed=True, score=77)
    attempt = await stack.wait_for_attempt(opened["attempt_id"], lambda a: a["status"] == "ready_for_review")

    assert attempt["vendor_session_id"] == session_id
    assert attempt["course_id"] == course_id and attempt["learner_id"] == learner_id
    assert attempt["exam"] == {"score": 77.0, "passed": True}
    assert attempt["review_task"]["state"] == "ready_for_review"
    events = [e["event"] for e in attempt["events"]]
    assert events[:2] == ["opened", "vendor_session_created"]
    assert "learner_finished" in events and events[-1] == "ready_for_review"
    assert [e["seq"] for e in attempt["events"]] == sorted(e["seq"] for e in attempt["events"])
    reply = (await stack.api.get(f"/attempts/{opened['attempt_id']}")).text
    assert "Ada Lovelace" not in reply and "ada.lovelace@example.org" not in reply


async def test_an_exam_result_is_accepted_once_and_a_different_one_is_refused(stack):
    course_id, _ = await proctored_course(stack.api)
    opened = await open_attempt(stack.api, course_id, unique("learner"))
    url = f"/attempts/{opened['attempt_id']}/exam-result"

    first = await stack.api.post(url, json={"score": 88, "passed": True})
    again = await stack.api.post(url, json={"score": 88, "passed": True})
    different = await stack.api.post(url, json={"score": 12, "passed": False})

    assert first.status_code == 202, first.text
    assert first.json()["exam"] == {"score": 88.0, "passed": True}
    assert "reviewer passes or fails" in first.json()["message"]
    assert again.status_code == 202
    assert_refused(different, 409, "different exam result")


async def test_opening_refuses_unknown_lessons_and_bad_bodies_with_what_to_fix(stack):
    course_id, _ = await proctored_course(stack.api)
    learner_id = unique("learner")

    assert_refused(await stack.api.post("/attempts/open", json=open_body("nope", learner_id)), 404, "nope")
    assert_refused(
        await stack.api.post("/attempts/open", json=open_body(course_id, learner_id, lesson_id="nope")),
        404,
        "nope",
    )
    bad_email = open_body(course_id, learner_id) | {
        "learner": {"id": "l", "name": "Ada", "email": "not-an-email"}
    }
    assert_refused(await stack.api.post("/attempts/open", json=bad_email), 422, "learner.email")
    assert_refused(
        await stack.api.post("/attempts/open", json=open_body(course_id, learner_id, attempt_number=0)),
        422,
        "attempt_number",
    )
    no_learner = {k: v for k, v in open_body(course_id, learner_id).items() if k != "learner"}
    assert_refused(await stack.api.post("/attempts/open", json=no_learner), 422, "learner")
    assert_refused(
        await stack.api.post(
            "/attempts/open", content=b"not json", headers={"Content-Type": "application/json"}
        ),
        422,
        "JSON",
    )


async def test_a_lesson_without_retakes_refuses_a_second_attempt(stack):
    course_id, _ = await proctored_course(stack.api, allows_retakes=False)
    learner_id = unique("learner")
    await open_attempt(stack.api, course_id, learner_id)

    response = await stack.api.post("/attempts/open", json=open_body(course_id, learner_id, attempt_number=2))

    assert_refused(response, 409, "does not allow retakes")


async def test_unknown_attempts_and_bad_results_are_refused(stack):
    assert_refused(await stack.api.get("/attempts/no-such-attempt"), 404, "no-such-attempt")
    assert_refused(
        await stack.api.post("/attempts/no-such-attempt/exam-result", json={"passed": True}),
        404,
        "no-such-attempt",
    )
    course_id, _ = await proctored_course(stack.api)
    opened = await open_attempt(stack.api, course_id, unique("learner"))
    url = f"/attempts/{opened['attempt_id']}/exam-result"
    assert_refused(await stack.api.post(url, json={"score": 101, "passed": True}), 422, "score")
    assert_refused(await stack.api.post(url, json={"score": 50}), 422, "passed")
