"""GET and PATCH /organisation: the LMS keeps its return URL (where ProctorFree sends learners
after "confirm and start") itself; and what the set-up link and the return are, with it and
without it. ProctorFlow never sends a learner to a page of its own."""

from __future__ import annotations

import pytest

from tests.api.helpers import assert_refused, open_attempt, proctored_course, unique, vendor_session

TEMPLATE = "https://lms.example.org/c/{course_id}/l/{lesson_id}/proctored/{attempt_id}?from=pf"


@pytest.fixture
async def return_url(stack):
    """Sets the organisation's return URL for one test, and unsets it after."""

    async def set_to(template: str | None) -> dict:
        response = await stack.api.patch("/organisation", json={"lms_return_url": template})
        assert response.status_code == 200, response.text
        return response.json()

    yield set_to
    await set_to(None)


async def test_the_lms_reads_and_sets_its_organisations_return_url(stack, return_url):
    before = (await stack.api.get("/organisation")).json()
    changed = await return_url(TEMPLATE)
    read_back = (await stack.api.get("/organisation")).json()
    unset = await return_url(None)

    assert before == {"id": "default", "name": "Default organisation", "lms_return_url": None}
    assert changed["lms_return_url"] == read_back["lms_return_url"] == TEMPLATE
    assert unset["lms_return_url"] is None


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"lms_return_url": "https://lms.example.org/exam"}, "must contain {attempt_id}"),
        ({"lms_return_url": "ftp://lms.example.org/{attempt_id}"}, "absolute http(s) URL"),
        ({"lms_return_url": "/exam/{attempt_id}"}, "absolute http(s) URL"),
        ({"lms_return_url": "https://lms.example.org/{learner_email}/{attempt_id}"}, "unknown placeholder"),
        ({"lms_return_url": "https://lms.example.org/{attempt_id"}, "not a valid template"),
        ({"lms_return_url": "https://lms.example.org/{attempt_id!r}"}, "without a format"),
        ({"lms_return_url": "https://lms.example.org/" + "x" * 2000 + "{attempt_id}"}, "at most 2000"),
        ({"lms_return_url": "https://lms.example.org/{attempt_id}", "name": "Acme"}, "name"),
        ({}, "lms_return_url"),
    ],
)
async def test_a_bad_return_url_is_refused_saying_what_to_fix(stack, body, words):
    response = await stack.api.patch("/organisation", json=body)

    assert_refused(response, 422, words)
    assert (await stack.api.get("/organisation")).json()["lms_return_url"] is None


async def test_the_organisation_is_the_callers_own_and_needs_a_token(stack, anonymous, other_org, return_url):
    await return_url(TEMPLATE)

    theirs = (await other_org.get("/organisation")).json()

    assert theirs["id"] != "default" and theirs["lms_return_url"] is None
    assert_refused(await anonymous.get("/organisation"), 401, "bearer token")
    assert_refused(await anonymous.patch("/organisation", json={"lms_return_url": None}), 401, "bearer token")


async def test_proctorfree_returns_the_learner_to_the_lms_url_filled_in_for_the_attempt(stack, return_url):
    await return_url(TEMPLATE)
    course_id, _ = await proctored_course(stack.api, method="full")
    opened = await open_attempt(stack.api, course_id, unique("learner"))
    session_id = await vendor_session(stack, opened["attempt_id"])

    started = await stack.emulator.post(f"/s/{session_id}/start", data={"attest": "on"})

    expected = TEMPLATE.format(course_id=course_id, lesson_id="exam", attempt_id=opened["attempt_id"])
    assert started.status_code == 303 and started.headers["location"] == expected


async def test_without_a_return_url_the_learner_stays_with_proctorfree_never_proctorflow(stack):
    course_id, _ = await proctored_course(stack.api, method="full")
    opened = await open_attempt(stack.api, course_id, unique("learner"))
    session_id = await vendor_session(stack, opened["attempt_id"])

    started = await stack.emulator.post(f"/s/{session_id}/start", data={"attest": "on"})
    landed = await stack.emulator.get(started.headers["location"])

    assert started.headers["location"] == f"/s/{session_id}/started"
    assert "You may close this window" in landed.text


async def test_the_set_up_link_is_proctorfrees_once_the_session_exists_and_null_before(stack):
    course_id, _ = await proctored_course(stack.api, method="full")
    learner_id = unique("learner")
    first = await open_attempt(stack.api, course_id, learner_id)
    session_id = await vendor_session(stack, first["attempt_id"])

    attempt = (await stack.api.get(f"/attempts/{first['attempt_id']}")).json()
    reload = await open_attempt(stack.api, course_id, learner_id)

    setup_page = f"{stack.emulator_url}/s/{session_id}/setup"
    assert first["setup_url"] is None
    assert attempt["setup_url"] == reload["setup_url"] == setup_page
