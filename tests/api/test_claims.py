"""Claiming review tasks over the API (SPEC, "Reviewer operations"): one reviewer holds a task,
two claiming at once are answered one by one, and only the holder decides or releases it. Real
HTTP against the running stack (SQLite here, PostgreSQL in CI's second run)."""

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
from tests.support.stack import Stack


async def ready_task(stack: Stack) -> dict:
    course_id, _ = await proctored_course(stack.api, method="record_only", requires_validation=True)
    attempt_id = (await open_attempt(stack.api, course_id, unique("learner")))["attempt_id"]
    await learner_takes_exam(stack, attempt_id)
    return await review_task_of(stack, attempt_id, "ready_for_review")


async def test_two_reviewers_claiming_at_once_one_wins_the_other_is_told_who(stack: Stack):
    task = await ready_task(stack)
    url = f"/review-tasks/{task['id']}/claim"
    replies = await asyncio.gather(
        stack.api.post(url, json={"reviewer": "ana"}), stack.api.post(url, json={"reviewer": "bo"})
    )
    statuses = sorted(reply.status_code for reply in replies)
    assert statuses == [200, 409], [reply.text for reply in replies]
    winner = next(reply for reply in replies if reply.status_code == 200).json()["assignee"]
    loser = next(reply for reply in replies if reply.status_code == 409)
    assert_refused(loser, 409, f"claimed by {winner}")
    shown = (await stack.api.get(f"/review-tasks/{task['id']}")).json()
    assert shown["assignee"] == winner and shown["claimed_at"] is not None


async def test_only_the_holder_decides_or_releases_and_an_assign_moves_it(stack: Stack):
    task = await ready_task(stack)
    base = f"/review-tasks/{task['id']}"
    assert (await stack.api.post(f"{base}/claim", json={"reviewer": "ana"})).status_code == 200
    again = await stack.api.post(f"{base}/claim", json={"reviewer": "ana"})  # renews, harmlessly
    assert again.status_code == 200

    assert_refused(
        await stack.api.post(f"{base}/decision", json={"decision": "pass", "reviewer": "bo"}),
        409,
        "claimed by ana",
    )
    assert_refused(
        await stack.api.post(f"{base}/release", json={"reviewer": "bo"}), 409, "only they can release"
    )

    assigned = await stack.api.post(f"{base}/assign", json={"reviewer": "bo", "by": "lead"})
    assert assigned.status_code == 200 and assigned.json()["assignee"] == "bo"
    released = await stack.api.post(f"{base}/release", json={"reviewer": "bo"})
    assert released.status_code == 200 and released.json()["assignee"] is None
    decided = await stack.api.post(f"{base}/decision", json={"decision": "pass", "reviewer": "cy"})
    assert decided.status_code == 200, decided.text
    assert_refused(await stack.api.post(f"{base}/claim", json={"reviewer": "ana"}), 409, "only a task ready")

    steps = (await stack.api.get(f"/attempts/{task['attempt_id']}")).json()["events"]
    assert [s["event"] for s in steps if s["event"] in ("claimed", "released")] == [
        "claimed",
        "released",
        "claimed",
        "released",
    ]
    log = (await stack.api.get("/audit-log", params={"limit": 500})).json()["entries"]
    mine = [(e["action"], e["actor"]) for e in log if e["target"] == f"review-tasks/{task['id']}"]
    assert ("review_task.claimed", "ana") in mine and ("review_task.assigned", "lead") in mine


async def test_a_task_not_ready_cannot_be_claimed_and_bad_bodies_are_refused(stack: Stack, other_org):
    course_id, _ = await proctored_course(stack.api, method="full", requires_validation=True)
    attempt_id = (await open_attempt(stack.api, course_id, unique("learner")))["attempt_id"]
    await learner_takes_exam(stack, attempt_id)
    task = await review_task_of(stack, attempt_id, "not_ready")
    url = f"/review-tasks/{task['id']}/claim"
    assert_refused(await stack.api.post(url, json={"reviewer": "ana"}), 409, "not_ready")
    assert_refused(await stack.api.post(url, json={}), 422, "reviewer")
    assert_refused(await stack.api.post(url, json={"reviewer": ""}), 422, "reviewer")
    assert_refused(await other_org.post(url, json={"reviewer": "ana"}), 404)
    assert_refused(await stack.api.post("/review-tasks/no-such-task/claim", json={"reviewer": "ana"}), 404)
