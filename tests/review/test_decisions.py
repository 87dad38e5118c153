"""Passing and failing over real HTTP, one task or many, with the refusals a reviewer must see;
and the course progress page's proctoring column changed after the fact."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from html import unescape

import httpx
from sqlmodel import select

from models.payloads import workflow_id_for
from models.tables import CourseProgress, ResultChange
from starter.reconcile import reconcile
from tests.review.world import COURSE, EXAM, ReviewWorld, Taken, csrf_of

# --- Decisions -------------------------------------------------------------------------------


async def test_a_not_ready_task_says_so_and_refuses_a_decision(
    world: ReviewWorld, reviewer: httpx.AsyncClient
):
    taken = await world.learner_finishes("Grace Hopper")
    task = world.task(taken.attempt_id)
    page = await reviewer.get(f"/review/tasks/{task.id}")
    assert "ProctorFree has not finished auditing this session" in page.text
    expected = (task.created_at + timedelta(hours=24)).strftime("%Y-%m-%d %H:")
    assert "expected by" in page.text and expected in page.text
    assert "Pass Proctoring" not in page.text

    refused = await reviewer.post(
        f"/review/tasks/{task.id}/decision",
        data={"decision": "pass", "reviewed": "yes", "csrf_token": csrf_of(page.text)},
    )
    assert refused.status_code == 409
    assert "Not decided: not ready: ProctorFree has not finished auditing" in refused.text
    assert world.task(taken.attempt_id).state == "not_ready"


async def test_passing_needs_the_reviewed_confirmation_and_completes_the_course(
    world: ReviewWorld, reviewer: httpx.AsyncClient
):
    taken, task = await world.ready_task("Ada Lovelace")
    page = await reviewer.get(f"/review/tasks/{task.id}")
    assert "Review in Proctoring Service" in page.text and f"/review/{taken.session_id}" in page.text
    token = csrf_of(page.text)

    unconfirmed = await reviewer.post(
        f"/review/tasks/{task.id}/decision", data={"decision": "pass", "csrf_token": token}
    )
    assert unconfirmed.status_code == 422 and "I have reviewed the session" in unconfirmed.text
    assert world.task(taken.attempt_id).state == "ready_for_review"

    passed = await reviewer.post(
        f"/review/tasks/{task.id}/decision", data={"decision": "pass", "reviewed": "yes", "csrf_token": token}
    )
    assert passed.status_code == 303
    after = await reviewer.get(passed.headers["location"])
    assert "Proctoring passed; lesson completed, course completed, certificate issued." in after.text
    assert f"by <strong>{world.username}</strong>" in after.text
    assert f'href="/review/courses/{COURSE}/learners/{taken.learner_id}"' in after.text
    assert "Proctoring passed" in after.text and "Lesson completed" in after.text  # the timeline

    other_way = await reviewer.post(
        f"/review/tasks/{task.id}/decision", data={"decision": "fail", "reviewed": "yes", "csrf_token": token}
    )
    assert other_way.status_code == 409
    assert "already passed: change the proctoring result from the learner's course progress" in unescape(
        other_way.text
    )
    assert world.task(taken.attempt_id).state == "passed"


async def test_selected_tasks_are_decided_after_a_confirmation_each_with_its_outcome(
    world: ReviewWorld, reviewer: httpx.AsyncClient
):
    (first, one), (second, two), late = await asyncio.gather(
        world.ready_task("Alan Turing"),
        world.ready_task("Edsger Dijkstra"),
        world.learner_finishes("Barbara Liskov"),
    )
    not_ready = world.task(late.attempt_id)
    page = await reviewer.get("/review/tasks")
    selection = {
        "decision": "pass",
        "task_ids": [one.id, two.id, not_ready.id],
        "csrf_token": csrf_of(page.text),
    }

    confirm = await reviewer.post("/review/tasks/bulk", data=selection)
    assert confirm.status_code == 200 and "Pass 3 selected tasks?" in confirm.text
    assert "I have reviewed these sessions" in confirm.text
    assert world.task(first.attempt_id).state == "ready_for_review"  # nothing decided yet

    result = await reviewer.post("/review/tasks/bulk", data=selection | {"confirmed": "yes"})
    assert "Pass selected: 2 of 3 decided" in result.text, result.text[-3000:]
    rows = re.findall(r"<tr>\s*<td><a[^>]*>([^<]+)</a></td>.*?<td>([^<]*)</td>\s*</tr>", result.text, re.S)
    outcomes = dict(rows)
    assert outcomes["Alan Turing"].startswith("Proctoring passed; lesson completed")
    assert outcomes["Barbara Liskov"].startswith("Not decided: not ready")
    assert [world.task(t.attempt_id).state for t in (first, second, late)] == [
        "passed",
        "passed",
        "not_ready",
    ]

    nothing = await reviewer.post(
        "/review/tasks/bulk", data={"decision": "fail", "csrf_token": selection["csrf_token"]}
    )
    assert nothing.status_code == 303
    assert "Select at least one task" in (await reviewer.get("/review/tasks")).text


# --- Course progress --------------------------------------------------------------------------


async def test_a_changed_result_leaves_the_course_alone_unless_re_evaluation_is_ticked(
    world: ReviewWorld, reviewer: httpx.AsyncClient
):
    taken, task = await world.ready_task("Hedy Lamarr")
    page = await reviewer.get(f"/review/tasks/{task.id}")
    token = csrf_of(page.text)
    await reviewer.post(
        f"/review/tasks/{task.id}/decision", data={"decision": "fail", "reviewed": "yes", "csrf_token": token}
    )
    progress_url = f"/review/courses/{COURSE}/learners/{taken.learner_id}"
    change_url = f"{progress_url}/lessons/{EXAM}/result"

    no_reason = await reviewer.post(
        change_url, data={"new_result": "passed", "reason": "  ", "csrf_token": token}
    )
    assert no_reason.status_code == 422 and "Give a reason for the change" in no_reason.text

    kept = await reviewer.post(
        change_url, data={"new_result": "passed", "reason": "Audit misread the ID card", "csrf_token": token}
    )
    assert kept.status_code == 303
    page = (await reviewer.get(progress_url)).text
    assert "course completion, success and score left as they were" in page
    assert course_of(world, taken) is None or course_of(world, taken).completed_at is None
    assert "Audit misread the ID card" in page and "No: course left as it was" in page

    await reviewer.post(
        change_url,
        data={
            "new_result": "passed",
            "reason": "Re-run completion",
            "reevaluate": "yes",
            "csrf_token": token,
        },
    )
    page = (await reviewer.get(progress_url)).text
    assert "course completed; certificate issued" in page
    assert course_of(world, taken).completed_at is not None
    with world.stack.sessions() as session:
        trail = session.exec(select(ResultChange).where(ResultChange.learner_id == taken.learner_id)).all()
    assert [(c.previous, c.new, c.reevaluated_course) for c in trail] == [
        ("failed", "passed", False),
        ("passed", "passed", True),
    ]


async def test_a_result_changed_while_the_review_is_open_decides_it(
    world: ReviewWorld, reviewer: httpx.AsyncClient
):
    taken, task = await world.ready_task("Radia Perlman")
    progress_url = f"/review/courses/{COURSE}/learners/{taken.learner_id}"
    page = await reviewer.get(progress_url)
    assert "ready for review: a change decides its review" in page.text
    reply = await reviewer.post(
        f"{progress_url}/lessons/{EXAM}/result",
        data={"new_result": "passed", "reason": "Reviewed in ProctorFree", "csrf_token": csrf_of(page.text)},
    )
    assert reply.status_code == 303
    page = await reviewer.get(progress_url)
    assert "Proctoring passed; lesson completed, course completed, certificate issued." in page.text
    assert "Reviewed in ProctorFree" in page.text
    assert world.task(taken.attempt_id).state == "passed"


def course_of(world: ReviewWorld, taken: Taken) -> CourseProgress | None:
    with world.stack.sessions() as session:
        return session.get(CourseProgress, (world.org, COURSE, taken.learner_id))


async def test_a_session_proctorfree_flagged_is_pointed_out_to_the_reviewer(
    world: ReviewWorld, reviewer: httpx.AsyncClient
):
    taken = await world.learner_finishes("Mallory Flagged")
    task = await world.audit_lands(taken, outcome="flagged")
    page = " ".join(unescape((await reviewer.get(f"/review/tasks/{task.id}")).text).split())
    assert "ProctorFree flagged this session: look at the audit report closely." in page
    assert "flagged by ProctorFree" in page  # the timeline's audit step
    queue = (await reviewer.get("/review/tasks")).text
    assert '<span class="badge failed">Flagged</span>' in queue


async def test_a_task_whose_attempt_was_abandoned_shows_closed_leaves_the_open_queue_and_takes_no_decision(
    world: ReviewWorld, reviewer: httpx.AsyncClient
):
    """Issue 20, case 2: the attempt's workflow was terminated and `proctorflow reconcile`
    abandoned it: its task is closed, not waiting for a reviewer."""
    taken, task = await world.ready_task("Hedy Lamarr")
    handle = world.stack.client.get_workflow_handle(workflow_id_for(taken.attempt_id))
    await handle.terminate(reason="terminated from Temporal Web")
    await reconcile(world.stack.client, world.stack.sessions, taken.attempt_id)

    page = await reviewer.get(f"/review/tasks/{task.id}")
    assert page.status_code == 200
    assert '<span class="badge closed">Closed</span>' in page.text
    text = unescape(page.text)
    assert "This task was closed without a decision" in text
    assert "its workflow was terminated before the attempt ended" in text
    assert "Pass Proctoring" not in page.text
    assert "<strong>Abandoned</strong>" in page.text  # the timeline
    queue = await reviewer.get("/review/tasks")  # the open tasks
    assert f'data-task-id="{task.id}"' not in queue.text
    closed = await reviewer.get("/review/tasks", params={"state": "closed", "show": "all"})
    assert f'data-task-id="{task.id}"' in closed.text

    refused = await reviewer.post(
        f"/review/tasks/{task.id}/decision",
        data={"decision": "pass", "reviewed": "yes", "csrf_token": csrf_of(page.text)},
    )
    assert refused.status_code == 409
    assert "Not decided: this task was closed without a decision: its attempt ended" in unescape(refused.text)
