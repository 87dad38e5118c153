"""The reviewer's exports over real HTTP: the reports page, its two CSV downloads of the
reviewer's own organisation (a real attempt passed in the UI), and the refusals as pages."""

from __future__ import annotations

import csv
import io
from urllib.parse import urlsplit

import httpx

from tests.review.world import COURSE, ReviewWorld, csrf_of, signed_in_client
from tests.support.stack import Stack

# What the reports form sends when nothing but the course is chosen.
FORM = {"course_id": COURSE, "from": "", "to": ""}


def rows_of(response: httpx.Response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    return list(csv.DictReader(io.StringIO(response.text)))


async def test_a_reviewer_downloads_the_attempts_and_decisions_of_their_organisation(
    stack: Stack, world: ReviewWorld, reviewer: httpx.AsyncClient
):
    taken, task = await world.ready_task("Ada Lovelace")
    page = await reviewer.get(f"/review/tasks/{task.id}")
    decided = await reviewer.post(
        f"/review/tasks/{task.id}/decision",
        data={"decision": "pass", "reviewed": "yes", "csrf_token": csrf_of(page.text)},
    )
    assert decided.status_code == 303

    reports = await reviewer.get("/review/reports")
    assert reports.status_code == 200
    assert '<a href="/review/reports">Reports</a>' in reports.text  # in the header of every page
    assert 'formaction="/review/reports/attempts.csv"' in reports.text
    assert 'formaction="/review/reports/decisions.csv"' in reports.text
    assert f'<option value="{COURSE}">' in reports.text

    attempts = await reviewer.get("/review/reports/attempts.csv", params=FORM)
    assert attempts.headers["content-disposition"] == f'attachment; filename="attempts-{COURSE}.csv"'
    assert "Ada Lovelace" not in attempts.text and "@example.org" not in attempts.text
    [row] = rows_of(attempts)
    assert (row["attempt_id"], row["learner_id"]) == (taken.attempt_id, taken.learner_id)
    assert (row["method"], row["review_state"], row["decision"]) == ("full", "passed", "passed")
    assert row["decided_by"] == world.username and row["finished_at"]

    [decision] = rows_of(await reviewer.get("/review/reports/decisions.csv", params=FORM))
    assert (decision["task_id"], decision["decision"], decision["decided_by"]) == (
        task.id,
        "passed",
        world.username,
    )
    assert int(decision["seconds_to_decision"]) >= 0
    january = {"course_id": COURSE, "from": "2024-01-01", "to": "2024-02-01"}
    assert rows_of(await reviewer.get("/review/reports/decisions.csv", params=january)) == []

    # Another organisation's reviewer, with a course of the same id, gets none of these rows.
    other = ReviewWorld(stack).seed()
    theirs = await signed_in_client(other)
    try:
        for kind in ("attempts", "decisions"):
            assert rows_of(await theirs.get(f"/review/reports/{kind}.csv", params=FORM)) == []
            assert rows_of(await theirs.get(f"/review/reports/{kind}.csv")) == []
    finally:
        await theirs.aclose()


async def test_the_downloads_need_a_signed_in_reviewer_and_say_what_to_fix(
    world: ReviewWorld, reviewer: httpx.AsyncClient
):
    async with httpx.AsyncClient(base_url=world.base_url) as anonymous:
        for path in ("/review/reports", "/review/reports/attempts.csv", "/review/reports/decisions.csv"):
            reply = await anonymous.get(path)
            assert reply.status_code == 303 and urlsplit(reply.headers["location"]).path == "/review/login"

    bad_date = await reviewer.get("/review/reports/attempts.csv", params=FORM | {"from": "2024-02-30"})
    assert bad_date.status_code == 422 and "text/html" in bad_date.headers["content-type"]
    assert "from must be an ISO date" in bad_date.text
    backwards_range = {"from": "2024-05-02", "to": "2024-05-01"}
    backwards = await reviewer.get("/review/reports/decisions.csv", params=backwards_range)
    assert backwards.status_code == 422 and "is after to" in backwards.text
    unknown = await reviewer.get("/review/reports/attempts.csv", params={"course_id": "no-such-course"})
    assert unknown.status_code == 404 and "course no-such-course does not exist" in unknown.text
