"""Claiming review tasks in the reviewer UI over real HTTP (SPEC, "Reviewer operations"): claim,
release and assign from the task page, each audited as the API's are; another reviewer is told
who holds a task and why they cannot decide it; a second review shows the first verdict and a
disagreement; and the task list's views (mine, unassigned, overdue) hold what they say."""

from __future__ import annotations

import dataclasses
import re
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from html import unescape

import httpx
import pytest
from sqlmodel import select

from models.settings import SettingsIn
from models.tables import AuditEntry, ReviewTask, utcnow
from store import reviewers, settings
from store.db import transaction
from tests.review.world import COURSE, EXAM, PASSWORD, ReviewWorld, csrf_of, once_of, signed_in_client

# Sign-ins are rate-limited per address: these tests sign in from loopback addresses of their
# own, leaving 127.0.0.1's budget to the rest of the package.
ADDRESS, OTHER_ADDRESS = "127.0.0.31", "127.0.0.32"


@pytest.fixture
async def reviewer(world: ReviewWorld) -> AsyncIterator[httpx.AsyncClient]:
    client = await signed_in_client(world, ADDRESS)
    yield client
    await client.aclose()


def words(html: str) -> str:
    """The page's text, tags dropped and spaces collapsed."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def task_ids(html: str) -> list[str]:
    return re.findall(r'<tr data-task-id="([^"]+)"', html)


def add_reviewer(world: ReviewWorld, display_name: str) -> ReviewWorld:
    """A second reviewer of the same organisation, as a world signed in as them."""
    other = dataclasses.replace(world, username=f"reviewer-{uuid.uuid4().hex[:6]}")
    with transaction(world.stack.sessions) as session:
        reviewers.create_reviewer(session, world.org, other.username, PASSWORD, display_name)
    return other


def claim_entries(world: ReviewWorld, task_id: str) -> list[tuple[str, str, str, dict]]:
    """(action, actor, source, detail) of the task's claim and decision entries, oldest first."""
    with world.stack.sessions() as session:
        found = session.exec(
            select(AuditEntry)
            .where(AuditEntry.org_id == world.org, AuditEntry.target == task_id)
            .order_by(AuditEntry.id)  # type: ignore[arg-type]
        ).all()
    return [(e.action, e.actor, e.source, e.detail) for e in found if e.action.startswith("review_task.")]


def has_form(html: str, form: str) -> bool:
    return f'id="{form}-form"' in html


async def post_form(client: httpx.AsyncClient, task_id: str, form: str, **fields: str) -> httpx.Response:
    """Send one of the task page's forms as a browser would, with its CSRF and one-submission
    tokens; a form the page does not offer is sent as a hand-made one (the CSRF token only)."""
    page = (await client.get(f"/review/tasks/{task_id}")).text
    data = {"csrf_token": csrf_of(page)} | fields
    if has_form(page, form):
        data["once"] = once_of(page, f"{form}-form")
    return await client.post(f"/review/tasks/{task_id}/{form}", data=data)


async def test_a_reviewer_claims_renews_and_releases_a_task_each_audited_and_the_views_follow(
    world: ReviewWorld, reviewer: httpx.AsyncClient
):
    taken, task = await world.ready_task("Ada Lovelace")
    html = (await reviewer.get(f"/review/tasks/{task.id}")).text
    assert "Who holds this task" in html and "Nobody holds this task." in words(html)
    assert has_form(html, "claim") and has_form(html, "assign") and not has_form(html, "release")
    unassigned = (await reviewer.get("/review/tasks?view=unassigned")).text
    assert task_ids(unassigned) == [task.id] and "Unassigned (1)" in words(unassigned)

    claimed = await post_form(reviewer, task.id, "claim")
    assert claimed.status_code == 303 and claimed.headers["location"] == f"/review/tasks/{task.id}"
    html = (await reviewer.get(claimed.headers["location"])).text
    page = words(html)
    assert f"Claimed: held by {world.username} until" in page  # the workflow's reply, said once
    assert "You hold this task since" in page and "unless you decide it first" in page
    assert "Renew my claim" in page and has_form(html, "release")
    held = world.task(taken.attempt_id)
    assert held.assignee == world.username and held.claimed_at is not None
    expires = held.claimed_at + timedelta(minutes=60)  # the default claim timeout
    assert f"until {expires:%Y-%m-%d %H:%M} UTC" in page

    mine = (await reviewer.get("/review/tasks?view=mine")).text
    assert task_ids(mine) == [task.id] and "Mine (1)" in words(mine) and "Unassigned (0)" in words(mine)
    assert f"{world.username} (you)" in words(mine)
    assert task_ids((await reviewer.get("/review/tasks?view=unassigned")).text) == []

    renewed = await post_form(reviewer, task.id, "claim")
    assert renewed.status_code == 303
    released = await post_form(reviewer, task.id, "release")
    assert released.status_code == 303
    page = words((await reviewer.get(released.headers["location"])).text)
    assert "Released: any reviewer may claim it." in page and "Nobody holds this task." in page
    assert world.task(taken.attempt_id).assignee is None
    assert f"Released by {world.username} let go by its reviewer" in page  # the timeline

    again = await post_form(reviewer, task.id, "release")  # a stale page's: nobody holds it now
    assert again.status_code == 409
    assert "Not released: nobody holds this task." in words(again.text)

    me = {"reviewer": world.username}
    assert claim_entries(world, task.id) == [
        ("review_task.claimed", world.username, "ui", me),
        ("review_task.claimed", world.username, "ui", me),  # the renewal
        ("review_task.released", world.username, "ui", me),
    ]


async def test_a_form_sent_twice_claims_once(world: ReviewWorld, reviewer: httpx.AsyncClient):
    _, task = await world.ready_task("Grace Hopper")
    page = (await reviewer.get(f"/review/tasks/{task.id}")).text
    data = {"csrf_token": csrf_of(page), "once": once_of(page, "claim-form")}
    first = await reviewer.post(f"/review/tasks/{task.id}/claim", data=data)
    second = await reviewer.post(f"/review/tasks/{task.id}/claim", data=data)
    assert first.status_code == second.status_code == 303
    assert [entry[0] for entry in claim_entries(world, task.id)] == ["review_task.claimed"]

    # The same token sent to another form is not answered with the claim's outcome: it acts.
    released = await reviewer.post(f"/review/tasks/{task.id}/release", data=data)
    assert released.status_code == 303 and world.task(task.attempt_id).assignee is None
    assert [entry[0] for entry in claim_entries(world, task.id)] == [
        "review_task.claimed",
        "review_task.released",
    ]


async def test_another_reviewer_sees_who_holds_it_is_refused_in_words_and_can_assign_it(
    world: ReviewWorld, reviewer: httpx.AsyncClient
):
    taken, task = await world.ready_task("Alan Turing")
    assert (await post_form(reviewer, task.id, "claim")).status_code == 303
    bo = add_reviewer(world, "Bo Second")
    other = await signed_in_client(bo, OTHER_ADDRESS)
    try:
        html = (await other.get(f"/review/tasks/{task.id}")).text
        page = words(html)
        assert f"Claimed by Rita Reviewer ({world.username}) until" in page
        assert not has_form(html, "claim") and not has_form(html, "release") and has_form(html, "assign")
        assert (
            f"You cannot decide this task now: claimed by {world.username}: only they can decide it "
            "(or assign it to you)." in page
        )
        assert "Pass Proctoring" in page  # the decision form stays: a decision is answered in words

        refused = await post_form(other, task.id, "claim")
        assert refused.status_code == 409
        assert f"Not claimed: claimed by {world.username}: ask them to release it, or assign it." in words(
            refused.text
        )
        refused = await post_form(other, task.id, "release")  # no such button: a hand-made form
        assert refused.status_code == 409
        assert f"Not released: claimed by {world.username}: only they can release it" in words(refused.text)
        refused = await post_form(other, task.id, "decision", decision="pass", reviewed="yes")
        assert refused.status_code == 409
        assert (
            f"Not decided: claimed by {world.username}: only they can decide it (or assign it to you)."
            in words(refused.text)
        )
        assert world.task(taken.attempt_id).state == "ready_for_review"

        unknown = await post_form(other, task.id, "assign", assignee="nobody-at-all")
        assert unknown.status_code == 422
        assert "Not assigned: choose a reviewer of your organisation from the list." in words(unknown.text)
        choices = re.findall(r'<option value="([^"]+)">', (await other.get(f"/review/tasks/{task.id}")).text)
        assert sorted(choices) == sorted([world.username, bo.username])

        assigned = await post_form(other, task.id, "assign", assignee=bo.username)
        assert assigned.status_code == 303
        page = words((await other.get(assigned.headers["location"])).text)
        assert f"Assigned to {bo.username}." in page and "You hold this task" in page
        mine = (await reviewer.get("/review/tasks?view=mine")).text
        assert task_ids(mine) == []  # no longer Rita's

        decided = await post_form(other, task.id, "decision", decision="pass", reviewed="yes")
        assert decided.status_code == 303
        page = words((await other.get(decided.headers["location"])).text)
        assert f"Proctoring passed by {bo.username}" in page
        assert "Who holds this task" not in page  # nothing to claim on a decided task
    finally:
        await other.aclose()

    assert claim_entries(world, task.id) == [
        ("review_task.claimed", world.username, "ui", {"reviewer": world.username}),
        ("review_task.assigned", bo.username, "ui", {"reviewer": bo.username}),
        ("review_task.decided", bo.username, "ui", {"decision": "pass"}),
    ]


async def test_a_second_review_shows_the_first_verdict_then_the_disagreement(
    world: ReviewWorld, reviewer: httpx.AsyncClient
):
    with transaction(world.stack.sessions) as session:
        settings.write(session, world.org, SettingsIn(second_review_for_flagged=True))
    taken = await world.learner_finishes("Mallory Flagged")
    task = await world.audit_lands(taken, outcome="flagged")

    first = await post_form(reviewer, task.id, "decision", decision="pass", reviewed="yes")
    assert first.status_code == 303
    page = words((await reviewer.get(first.headers["location"])).text)
    assert "First review recorded: a second reviewer must agree before it is decided." in page
    assert f"First review: pass by {world.username}; a second reviewer must agree." in page
    assert (
        "You cannot decide this task now: you gave the first review: a different reviewer must give "
        "the second." in page
    )
    assert world.task(taken.attempt_id).state == "ready_for_review"

    bo = add_reviewer(world, "Bo Second")
    other = await signed_in_client(bo, OTHER_ADDRESS)
    try:
        page = words((await other.get(f"/review/tasks/{task.id}")).text)
        assert f"First review: pass by {world.username}; a second reviewer must agree." in page
        assert "You cannot decide this task now" not in page
        second = await post_form(other, task.id, "decision", decision="fail", reviewed="yes")
        assert second.status_code == 303
        page = words((await other.get(second.headers["location"])).text)
    finally:
        await other.aclose()
    said = "The reviewers disagree: escalated to the escalation contact; the next decision settles it."
    assert said in page
    assert (
        f"The reviewers disagree: pass by {world.username}, fail by {bo.username}. The task was escalated; "
        "the next decision settles it." in page
    )
    assert "Priority High priority escalated" in page
    overdue = (await reviewer.get("/review/tasks?view=overdue")).text
    assert task_ids(overdue) == [task.id] and "High priority" in words(overdue)


async def test_the_views_hold_what_they_say_keep_the_filters_and_count_within_them(
    world: ReviewWorld, reviewer: httpx.AsyncClient
):
    """Tasks written straight to the table: the views are a reading of it."""
    now = utcnow()
    rows = {
        "ready-free": ("ready_for_review", None, None, "normal"),
        "ready-mine": ("ready_for_review", world.username, now + timedelta(hours=3), "normal"),
        "ready-theirs": ("ready_for_review", "someone-else", None, "normal"),
        "late-open": ("not_ready", None, now - timedelta(hours=2), "normal"),
        "escalated-open": ("ready_for_review", None, now + timedelta(days=3), "high"),
        "late-but-done": ("passed", world.username, now - timedelta(hours=5), "normal"),
    }
    ids = {name: f"{name}-{uuid.uuid4().hex[:8]}" for name in rows}
    with transaction(world.stack.sessions) as session:
        for name, (state, assignee, due_at, priority) in rows.items():
            session.add(
                ReviewTask(
                    id=ids[name],
                    org_id=world.org,
                    attempt_id=f"attempt-{ids[name]}",
                    course_id=COURSE,
                    lesson_id=EXAM,
                    learner_id=f"learner-{name}",
                    method="full",
                    state=state,
                    assignee=assignee,
                    due_at=due_at,
                    priority=priority,
                    completed_at=now if state == "passed" else None,
                )
            )

    def named(html: str) -> set[str]:
        return {name for name, task_id in ids.items() if task_id in task_ids(html)}

    everything = (await reviewer.get("/review/tasks")).text
    assert named(everything) == set(rows) - {"late-but-done"}
    text = words(everything)
    assert "All (5) Mine (1) Unassigned (2) Overdue (2)" in text  # open tasks only, as the filter says
    assert 'aria-current="page">All' in everything

    mine = (await reviewer.get("/review/tasks?view=mine")).text
    assert named(mine) == {"ready-mine"}
    assert 'id="view-mine" href="/review/tasks?show=open&amp;view=mine" aria-current="page"' in mine
    assert "in 2 hours" in words(mine) and f"{now + timedelta(hours=3):%Y-%m-%d %H:%M} UTC" in words(mine)
    unassigned = (await reviewer.get("/review/tasks?view=unassigned")).text
    assert named(unassigned) == {"ready-free", "escalated-open"}
    overdue = (await reviewer.get("/review/tasks?view=overdue")).text
    assert named(overdue) == {"late-open", "escalated-open"}
    late_row = re.search(rf'<tr data-task-id="{ids["late-open"]}".*?</tr>', overdue, re.S)
    assert late_row and "Overdue" in words(late_row[0]) and "2 hours ago" in words(late_row[0])
    assert "Unassigned" in words(late_row[0])
    high_row = re.search(rf'<tr data-task-id="{ids["escalated-open"]}".*?</tr>', overdue, re.S)
    assert high_row and "High priority" in words(high_row[0]) and "Overdue" not in words(high_row[0])

    # Every view keeps the filters: completed tasks too, a state, a course; paging links keep the view.
    all_mine = (await reviewer.get("/review/tasks?show=all&view=mine")).text
    assert named(all_mine) == {"ready-mine", "late-but-done"}
    assert "All (6) Mine (2)" in words(all_mine)
    done_row = re.search(rf'<tr data-task-id="{ids["late-but-done"]}".*?</tr>', all_mine, re.S)
    assert done_row and "Overdue" not in words(done_row[0])  # decided: no longer overdue
    assert '<input type="hidden" name="view" value="mine">' in all_mine  # "Apply filters" keeps the view
    not_ready = (await reviewer.get("/review/tasks?state=not_ready&view=unassigned")).text
    assert named(not_ready) == set() and "No tasks match these filters." in not_ready
    assert named((await reviewer.get("/review/tasks?course=other&view=overdue")).text) == set()

    refused = await reviewer.get("/review/tasks?view=everyone")
    assert refused.status_code == 422 and "view must be one of mine, unassigned, overdue" in refused.text
