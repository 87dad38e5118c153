"""Staff actions on one attempt over the API (SPEC, "Staff actions"): reset, void, resume and
check_now, each with a reason kept in the attempt's history and sent as an event; and extra
minutes on a running session. Over real HTTP against the running stack (dev server, emulator)."""

from __future__ import annotations

import httpx
import pytest

from proctorfree.client import ProctorFreeClient
from proctorfree.interface import VendorCredentials
from tests.api.helpers import (
    API_KEY,
    API_SECRET,
    add_integration,
    assert_refused,
    decide,
    learner_takes_exam,
    open_attempt,
    open_body,
    proctored_course,
    put_course,
    review_task_of,
    unique,
    vendor_session,
)
from tests.support.stack import Stack

CREDENTIALS = VendorCredentials(api_key=API_KEY, api_secret=API_SECRET)


async def act(
    stack: Stack, attempt_id: str, action: str, reason: str = "learner's camera failed"
) -> httpx.Response:
    return await stack.api.post(
        f"/attempts/{attempt_id}/actions", json={"action": action, "reason": reason, "by": "ops@lms"}
    )


async def vendor_status(stack: Stack, session_id: str):
    async with ProctorFreeClient(stack.emulator_url) as vendor:
        return await vendor.get_session(CREDENTIALS, session_id)


def staff_events(feed: list[dict], attempt_id: str) -> list[str]:
    return [
        e["data"]["action"]
        for e in feed
        if e["type"] == "attempt.staff_action" and e["data"]["attempt_id"] == attempt_id
    ]


async def test_reset_of_a_failed_attempt_without_retakes_lets_the_learner_open_attempt_2(stack: Stack):
    course_id, _ = await proctored_course(stack.api, method="record_only", allows_retakes=False)
    learner = unique("learner")
    first = (await open_attempt(stack.api, course_id, learner))["attempt_id"]
    await learner_takes_exam(stack, first, passed=True)
    task = await review_task_of(stack, first, "ready_for_review")
    await decide(stack, task["id"], "fail")
    await stack.wait_for_attempt(first, lambda a: a["status"] == "completed")
    refused = await stack.api.post("/attempts/open", json=open_body(course_id, learner, 2))
    assert_refused(refused, 409, "does not allow retakes")

    reply = await act(stack, first, "reset", reason="proctoring failed on a broken webcam")
    assert reply.status_code == 200, reply.text
    assert reply.json()["status"] == "voided" and "next attempt" in reply.json()["message"]

    second = await open_attempt(stack.api, course_id, learner, attempt_number=2)
    assert second["status"] in ("created", "awaiting_setup")
    voided = (await stack.api.get(f"/attempts/{first}")).json()  # still there, in the history
    assert voided["status"] == "voided" and voided["retake_granted"] is True
    step = voided["events"][-1]
    assert step["event"] == "voided"
    assert step["detail"] == {
        "action": "reset",
        "reason": "proctoring failed on a broken webcam",
        "by": "ops@lms",
    }
    third = await stack.api.post("/attempts/open", json=open_body(course_id, learner, 3))
    assert_refused(third, 409, "does not allow retakes")  # one reset, one more attempt
    feed = (await stack.api.get("/events", params={"limit": 500})).json()["events"]
    assert staff_events(feed, first) == ["reset"]
    assert "broken webcam" not in str(feed)  # the reason stays in the attempt's history


async def test_void_of_a_running_attempt_closes_its_vendor_session_and_grants_no_retake(stack: Stack):
    course_id, _ = await proctored_course(stack.api, method="full", allows_retakes=False)
    learner = unique("learner")
    attempt_id = (await open_attempt(stack.api, course_id, learner))["attempt_id"]
    session_id = await vendor_session(stack, attempt_id)

    reply = await act(stack, attempt_id, "void", reason="opened by mistake")
    assert reply.status_code == 200, reply.text
    assert reply.json()["status"] == "voided"
    attempt = await stack.wait_for_attempt(attempt_id, lambda a: a["status"] == "voided")
    assert attempt["events"][-1]["detail"]["action"] == "void"
    assert (await vendor_status(stack, session_id)).status == "closed"
    assert_refused(
        await stack.api.post("/attempts/open", json=open_body(course_id, learner, 2)), 409, "retakes"
    )
    assert_refused(await act(stack, attempt_id, "void"), 409, "voided already")


async def test_resume_and_check_now_apply_only_where_they_make_sense(stack: Stack):
    course_id, _ = await proctored_course(stack.api, method="full")
    attempt_id = (await open_attempt(stack.api, course_id, unique("learner")))["attempt_id"]
    await vendor_session(stack, attempt_id)

    assert_refused(await act(stack, attempt_id, "resume"), 409, "nothing to resume")
    checked = await act(stack, attempt_id, "check_now", reason="learner says they finished")
    assert checked.status_code == 200, checked.text
    attempt = await stack.wait_for_attempt(
        attempt_id, lambda a: any(step["event"] == "staff_action" for step in a["events"])
    )
    step = next(step for step in attempt["events"] if step["event"] == "staff_action")
    assert step["detail"] == {"action": "check_now", "reason": "learner says they finished", "by": "ops@lms"}


async def test_extend_moves_the_running_sessions_end_here_and_at_proctorfree(stack: Stack):
    integration = await add_integration(stack.api)
    course_id, learner = unique("course"), unique("learner")
    await put_course(
        stack.api, course_id, [{"id": "exam", "title": "Final exam", "type": "quiz", "required": True}]
    )
    settings = {"integration_id": integration["id"], "method": "full", "time_limit_minutes": 60}
    assert (
        await stack.api.put(f"/courses/{course_id}/lessons/exam/proctoring", json=settings)
    ).status_code == 200
    attempt_id = (await open_attempt(stack.api, course_id, learner))["attempt_id"]
    session_id = await vendor_session(stack, attempt_id)
    await stack.control("start", session_id)
    await stack.wait_for_attempt(attempt_id, lambda a: a["status"] == "in_progress")

    url = f"/attempts/{attempt_id}/extend"
    reply = await stack.api.post(url, json={"minutes": 15, "reason": "fire alarm", "by": "ops@lms"})
    assert reply.status_code == 200, reply.text
    assert reply.json()["allowed_minutes"] == 75
    assert (await vendor_status(stack, session_id)).time_limit_minutes == 75
    attempt = await stack.wait_for_attempt(attempt_id, lambda a: a["allowed_minutes"] == 75)
    assert attempt["events"][-1]["event"] == "time_extended"
    assert_refused(
        await stack.api.post(url, json={"minutes": 200, "reason": "x"}), 409, "at most 135 more minutes"
    )

    await stack.control("finish", session_id)
    await stack.wait_for_attempt(attempt_id, lambda a: a["status"] != "in_progress")
    assert_refused(
        await stack.api.post(url, json={"minutes": 5, "reason": "late"}), 409, "not in the session"
    )


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"action": "explode", "reason": "x"}, ("action",)),
        ({"action": "void"}, ("reason",)),
        ({"action": "void", "reason": ""}, ("reason",)),
        ({"action": "void", "reason": "x", "extra": 1}, ("extra",)),
    ],
)
async def test_bad_action_bodies_are_refused_saying_what_to_fix(stack: Stack, body, words):
    course_id, _ = await proctored_course(stack.api)
    attempt_id = (await open_attempt(stack.api, course_id, unique("learner")))["attempt_id"]
    assert_refused(await stack.api.post(f"/attempts/{attempt_id}/actions", json=body), 422, *words)


async def test_unknown_and_another_organisations_attempts_answer_404(
    stack: Stack, other_org: httpx.AsyncClient
):
    course_id, _ = await proctored_course(stack.api)
    attempt_id = (await open_attempt(stack.api, course_id, unique("learner")))["attempt_id"]
    body = {"action": "void", "reason": "x"}
    assert_refused(await stack.api.post("/attempts/no-such-attempt/actions", json=body), 404)
    assert_refused(await other_org.post(f"/attempts/{attempt_id}/actions", json=body), 404)
    assert_refused(
        await other_org.post(f"/attempts/{attempt_id}/extend", json={"minutes": 5, "reason": "x"}), 404
    )
    for minutes in (0, 241, "five"):
        reply = await stack.api.post(
            f"/attempts/{attempt_id}/extend", json={"minutes": minutes, "reason": "x"}
        )
        assert_refused(reply, 422, "minutes")
