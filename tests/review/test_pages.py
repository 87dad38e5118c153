"""The reviewer UI over real HTTP: signing in and out, CSRF, the queue (filters, order, pages)
and each organisation seeing its own data only, on the whole running system."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape
from urllib.parse import parse_qs, urlsplit

import httpx

from models.api import CourseIn, LessonIn
from models.tables import Learner, ReviewTask, utcnow
from store import catalog
from store.db import transaction
from tests.review.world import COURSE, EXAM, PASSWORD, ReviewWorld, csrf_of
from tests.support.stack import Stack


def task_ids_in_order(html: str) -> list[str]:
    return re.findall(r'data-task-id="([^"]+)"', html)


# --- Signing in and out ---------------------------------------------------------------------------


async def test_an_anonymous_visit_is_sent_to_the_login_page_and_back_after_signing_in(world: ReviewWorld):
    async with httpx.AsyncClient(base_url=world.base_url) as anonymous:
        for page in (
            "/review/tasks?show=all",
            "/review/tasks/any-task",
            f"/review/courses/{COURSE}/learners/x",
        ):
            reply = await anonymous.get(page)
            assert reply.status_code == 303
            location = urlsplit(reply.headers["location"])
            assert location.path == "/review/login"
            assert parse_qs(location.query)["next"] == [page]

        login = await anonymous.get("/review/login", params={"next": "/review/tasks?show=all"})
        signed = await anonymous.post(
            "/review/login",
            data={
                "username": world.username,
                "password": PASSWORD,
                "next": "/review/tasks?show=all",
                "csrf_token": csrf_of(login.text),
            },
        )
        assert signed.status_code == 303
        assert signed.headers["location"] == "/review/tasks?show=all"
        page = await anonymous.get("/review/tasks?show=all")
        assert page.status_code == 200
        assert "Signed in as <strong>Rita Reviewer</strong>" in page.text


async def test_the_session_cookie_is_signed_http_only_same_site_and_expiring(world: ReviewWorld):
    async with httpx.AsyncClient(base_url=world.base_url) as browser:
        login = await browser.get("/review/login")
        signed = await browser.post(
            "/review/login",
            data={"username": world.username, "password": PASSWORD, "csrf_token": csrf_of(login.text)},
        )
        cookie = signed.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie and "path=/review" in cookie
        assert "max-age=28800" in cookie  # eight hours

        value = browser.cookies["proctorflow_review"]
        forged = value[:-3] + ("aaa" if not value.endswith("aaa") else "bbb")
        browser.cookies.clear()
        browser.cookies.set("proctorflow_review", forged, path="/review")
        refused = await browser.get("/review/tasks")
        assert refused.status_code == 303 and refused.headers["location"].startswith("/review/login")


async def test_a_wrong_password_is_refused_with_a_message(world: ReviewWorld):
    async with httpx.AsyncClient(base_url=world.base_url) as browser:
        login = await browser.get("/review/login")
        reply = await browser.post(
            "/review/login",
            data={
                "username": world.username,
                "password": "not the password",
                "csrf_token": csrf_of(login.text),
            },
        )
        assert reply.status_code == 401
        assert "Wrong username or password." in reply.text
        assert (await browser.get("/review/tasks")).status_code == 303


async def test_signing_in_never_sends_the_reviewer_to_another_site(world: ReviewWorld):
    for elsewhere in ("https://evil.example/review/x", "//evil.example/review/x", "/api/v1/attempts"):
        async with httpx.AsyncClient(base_url=world.base_url) as browser:
            login = await browser.get("/review/login")
            reply = await browser.post(
                "/review/login",
                data={
                    "username": world.username,
                    "password": PASSWORD,
                    "next": elsewhere,
                    "csrf_token": csrf_of(login.text),
                },
            )
            assert reply.headers["location"] == "/review/tasks"


async def test_signing_out_ends_the_session(reviewer: httpx.AsyncClient):
    page = await reviewer.get("/review/tasks")
    reply = await reviewer.post("/review/logout", data={"csrf_token": csrf_of(page.text)})
    assert reply.status_code == 303 and reply.headers["location"] == "/review/login"
    assert "You are signed out." in (await reviewer.get("/review/login")).text
    assert (await reviewer.get("/review/tasks")).status_code == 303


async def test_a_form_posted_without_its_csrf_token_is_refused(
    world: ReviewWorld, reviewer: httpx.AsyncClient
):
    taken, task = await world.ready_task("Katherine Johnson")
    for token in (None, "forged-token", "gefälscht"):
        data = {"decision": "pass", "reviewed": "yes"} | ({"csrf_token": token} if token else {})
        refused = await reviewer.post(f"/review/tasks/{task.id}/decision", data=data)
        assert refused.status_code == 403
        assert "security token is missing or out of date" in refused.text
    assert world.task(taken.attempt_id).state == "ready_for_review"  # nothing was decided

    assert (await reviewer.post("/review/logout")).status_code == 403
    assert (await reviewer.get("/review/tasks")).status_code == 200  # still signed in

    async with httpx.AsyncClient(base_url=world.base_url) as stranger:
        login = await stranger.post("/review/login", data={"username": world.username, "password": PASSWORD})
        assert login.status_code == 403


# --- The queue ----------------------------------------------------------------------------------


def seed_queue(world: ReviewWorld, open_count: int, completed_count: int) -> tuple[list[str], list[str]]:
    """Tasks written straight into the database: open ones in the exam course, completed ones in a
    second course. Returns the ids in the order the queue must show them."""
    now = utcnow()
    with transaction(world.stack.sessions) as session:
        body = CourseIn(
            title="Safety Basics", lessons=[LessonIn(id="quiz", title="Safety quiz", type="quiz")]
        )
        catalog.put_course(session, world.org, "safety-201", body)
        opened, completed = [], []
        for n in range(open_count + completed_count):
            is_open = n < open_count
            learner_id = f"seeded-{n}"
            session.add(
                Learner(org_id=world.org, id=learner_id, name=f"Learner {n:03}", email=f"l{n}@example.org")
            )
            task = ReviewTask(
                id=f"{world.org}-task-{n:03}",
                org_id=world.org,
                attempt_id=f"{world.org}-attempt-{n:03}",
                course_id=COURSE if is_open else "safety-201",
                lesson_id=EXAM if is_open else "quiz",
                learner_id=learner_id,
                method="full",
                state=("not_ready" if n % 2 else "ready_for_review")
                if is_open
                else ("passed" if n % 2 else "failed"),
                created_at=now - timedelta(hours=n),
                completed_at=None if is_open else now - timedelta(minutes=3 * n),
                decided_by=None if is_open else "someone",
            )
            session.add(task)
            (opened if is_open else completed).append(task)
    # Open: oldest first. Completed: newest completed first.
    open_ids = [t.id for t in sorted(opened, key=lambda t: t.created_at)]
    completed_ids = [t.id for t in sorted(completed, key=lambda t: t.completed_at, reverse=True)]
    return open_ids, completed_ids


async def test_the_queue_shows_open_tasks_oldest_first_fifty_to_a_page(
    world: ReviewWorld, reviewer: httpx.AsyncClient
):
    open_ids, completed_ids = seed_queue(world, open_count=70, completed_count=40)

    first = await reviewer.get("/review/tasks")
    assert "70 tasks; showing 1–50." in first.text
    assert task_ids_in_order(first.text) == open_ids[:50]
    assert "Page 1 of 2" in first.text and 'href="/review/tasks?show=open&amp;page=2"' in first.text
    second = await reviewer.get("/review/tasks", params={"page": 2})
    assert task_ids_in_order(second.text) == open_ids[50:]

    everything = await reviewer.get("/review/tasks", params={"show": "all", "page": 2})
    assert task_ids_in_order(everything.text) == (open_ids + completed_ids)[50:100]
    completed = await reviewer.get("/review/tasks", params={"show": "completed"})
    assert task_ids_in_order(completed.text) == completed_ids

    # The columns a reviewer works from.
    for column in (
        "Type",
        "Learner",
        "Course",
        "Lesson",
        "Method",
        "State",
        "Created at",
        "Task completed at",
    ):
        assert f">{column}</th>" in first.text
    assert (
        "Proctoring Review" in first.text and "Learner 069" in first.text and "Full proctoring" in first.text
    )


async def test_the_queue_filters_by_state_and_course(world: ReviewWorld, reviewer: httpx.AsyncClient):
    open_ids, completed_ids = seed_queue(world, open_count=6, completed_count=4)
    ready = await reviewer.get("/review/tasks", params={"show": "all", "state": "ready_for_review"})
    assert set(task_ids_in_order(ready.text)) == {f"{world.org}-task-{n:03}" for n in (0, 2, 4)}
    # Only ready tasks can be selected for "Pass selected" / "Fail selected".
    assert ready.text.count('name="task_ids"') == 3

    passed = await reviewer.get("/review/tasks", params={"show": "completed", "state": "passed"})
    assert task_ids_in_order(passed.text) == [t for t in completed_ids if int(t[-3:]) % 2]
    safety = await reviewer.get("/review/tasks", params={"show": "all", "course": "safety-201"})
    assert task_ids_in_order(safety.text) == completed_ids
    assert '<option value="safety-201" selected>Safety Basics</option>' in safety.text

    nonsense = await reviewer.get("/review/tasks", params={"state": "lost"})
    assert nonsense.status_code == 422
    assert "state must be one of not_ready, ready_for_review, passed, failed" in nonsense.text


async def test_reviewers_see_their_own_organisations_data_only(stack: Stack, reviewer: httpx.AsyncClient):
    other = ReviewWorld(stack).seed()
    seed_queue(other, open_count=3, completed_count=0)
    assert task_ids_in_order((await reviewer.get("/review/tasks?show=all")).text) == []
    foreign = await reviewer.get(f"/review/tasks/{other.org}-task-000")
    assert foreign.status_code == 404 and "does not exist" in foreign.text
    # The same course id exists in both organisations: each reviewer sees their own.
    progress = await reviewer.get(f"/review/courses/{COURSE}/learners/seeded-0")
    assert progress.status_code == 200 and "Learner 000" not in progress.text
    missing = await reviewer.get("/review/courses/safety-201/learners/seeded-0")
    assert missing.status_code == 404


async def test_bad_input_is_answered_with_a_page_that_says_what_to_fix(reviewer: httpx.AsyncClient):
    token = csrf_of((await reviewer.get("/review/tasks")).text)
    answers = {
        "a page that is not a number": await reviewer.get("/review/tasks", params={"page": "two"}),
        "an unknown listing": await reviewer.get("/review/tasks", params={"show": "everything"}),
        "an unknown decision": await reviewer.post(
            "/review/tasks/bulk", data={"decision": "maybe", "task_ids": ["x"], "csrf_token": token}
        ),
        "too many tasks at once": await reviewer.post(
            "/review/tasks/bulk",
            data={"decision": "pass", "task_ids": [f"t{n}" for n in range(201)], "csrf_token": token},
        ),
        "a task that does not exist": await reviewer.post(
            "/review/tasks/nope/decision", data={"decision": "pass", "reviewed": "yes", "csrf_token": token}
        ),
        "a course that does not exist": await reviewer.get("/review/courses/nope/learners/nobody"),
        "an unknown result": await reviewer.post(
            f"/review/courses/{COURSE}/learners/nobody/lessons/{EXAM}/result",
            data={"new_result": "excellent", "reason": "why not", "csrf_token": token},
        ),
        "a change to a lesson never completed": await reviewer.post(
            f"/review/courses/{COURSE}/learners/nobody/lessons/{EXAM}/result",
            data={"new_result": "passed", "reason": "why not", "csrf_token": token},
        ),
    }
    expected = {
        "a page that is not a number": (422, "page: Input should be a valid integer"),
        "an unknown listing": (422, "show must be one of open, completed, all"),
        "an unknown decision": (422, "decision must be 'pass' or 'fail'"),
        "too many tasks at once": (422, "select at most 200 tasks at once; 201 were selected"),
        "a task that does not exist": (404, "review task nope does not exist"),
        "a course that does not exist": (404, "course nope does not exist"),
        "an unknown result": (422, "Choose the new proctoring result: Passed or Failed."),
        "a change to a lesson never completed": (409, "decide its review task instead"),
    }
    for case, (status, message) in expected.items():
        reply = answers[case]
        assert (reply.status_code, message in unescape(reply.text)) == (status, True), case
        assert reply.headers["content-type"].startswith("text/html"), case
