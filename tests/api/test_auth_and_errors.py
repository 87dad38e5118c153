"""What every call shares: the LMS's bearer token, one error shape with a message that says what
to fix, a body-size limit, organisations that never see each other's data, an OpenAPI document."""

from __future__ import annotations

import asyncio

import pytest

from models.tables import ApiToken
from store import catalog
from store.db import transaction
from tests.api.helpers import (
    add_integration,
    assert_refused,
    learner_takes_exam,
    open_attempt,
    proctored_course,
    review_task_of,
    unique,
)

AUTHENTICATED_CALLS = [
    ("POST", "/integrations"),
    ("GET", "/integrations"),
    ("GET", "/integrations/i-1"),
    ("PATCH", "/integrations/i-1"),
    ("PUT", "/courses/c-1"),
    ("GET", "/courses/c-1"),
    ("PUT", "/courses/c-1/lessons/l-1/proctoring"),
    ("DELETE", "/courses/c-1/lessons/l-1/proctoring"),
    ("POST", "/attempts/open"),
    ("POST", "/attempts/a-1/exam-result"),
    ("GET", "/attempts/a-1"),
    ("GET", "/review-tasks"),
    ("GET", "/review-tasks/t-1"),
    ("POST", "/review-tasks/t-1/decision"),
    ("GET", "/courses/c-1/learners/l-1/progress"),
    ("PATCH", "/courses/c-1/learners/l-1/lessons/l-1"),
]
WITH_BODY = [(method, path) for method, path in AUTHENTICATED_CALLS if method in ("POST", "PUT", "PATCH")]


@pytest.mark.parametrize(("method", "path"), AUTHENTICATED_CALLS)
async def test_every_lms_call_needs_a_valid_bearer_token(anonymous, method, path):
    missing = await anonymous.request(method, path, json={})
    wrong = await anonymous.request(method, path, json={}, headers={"Authorization": "Bearer not-a-token"})
    basic = await anonymous.request(method, path, json={}, headers={"Authorization": "Basic dXNlcjpwdw=="})

    assert_refused(missing, 401, "bearer token")
    assert_refused(wrong, 401, "not valid")
    assert_refused(basic, 401, "bearer token")


@pytest.mark.parametrize(("method", "path"), WITH_BODY)
async def test_every_body_that_is_not_json_is_refused_with_a_message(stack, method, path):
    response = await stack.api.request(
        method, path, content=b"{'single': quotes}", headers={"Content-Type": "application/json"}
    )

    assert_refused(response, 422, "JSON")


async def test_an_oversized_body_is_refused_whether_its_length_is_declared_or_not(stack):
    huge = b'{"title": "' + b"x" * (2 * 1024 * 1024) + b'"}'

    with_length = await stack.api.put(
        "/courses/big", content=huge, headers={"Content-Type": "application/json"}
    )

    async def chunks():
        for start in range(0, len(huge), 64 * 1024):
            yield huge[start : start + 64 * 1024]

    streamed = await stack.api.put(
        "/courses/big", content=chunks(), headers={"Content-Type": "application/json"}
    )

    assert assert_refused(with_length, 413, "at most 1048576 bytes")["code"] == "too_large"
    assert assert_refused(streamed, 413, "over 1048576 bytes")["code"] == "too_large"


async def test_an_unknown_path_answers_404_in_the_error_shape(stack):
    assert_refused(await stack.api.get("/nothing-here"), 404, "not found")


async def test_the_openapi_document_lists_every_call(stack):
    document = (await stack.api.get(f"{stack.base_url}/openapi.json")).json()

    paths = document["paths"]
    for method, path in AUTHENTICATED_CALLS:
        template = next(p for p in paths if _matches(p.removeprefix("/api/v1"), path))
        assert method.lower() in paths[template]
    assert "post" in paths["/api/v1/webhooks/proctorfree"]


def _matches(template: str, path: str) -> bool:
    a, b = template.strip("/").split("/"), path.strip("/").split("/")
    return len(a) == len(b) and all(x == y or x.startswith("{") for x, y in zip(a, b, strict=True))


async def test_another_organisations_ids_answer_404(stack, other_org):
    course_id, integration_id = await proctored_course(stack.api)
    learner_id = unique("learner")
    opened = await open_attempt(stack.api, course_id, learner_id)
    await learner_takes_exam(stack, opened["attempt_id"])
    task = await review_task_of(stack, opened["attempt_id"], "ready_for_review")
    attempt_id = opened["attempt_id"]

    assert_refused(await other_org.get(f"/integrations/{integration_id}"), 404)
    assert_refused(await other_org.patch(f"/integrations/{integration_id}", json={"name": "mine"}), 404)
    assert integration_id not in str((await other_org.get("/integrations")).json())
    assert_refused(await other_org.get(f"/courses/{course_id}"), 404)
    assert_refused(await other_org.delete(f"/courses/{course_id}/lessons/exam/proctoring"), 404)
    assert_refused(await other_org.get(f"/attempts/{attempt_id}"), 404)
    assert_refused(await other_org.post(f"/attempts/{attempt_id}/exam-result", json={"passed": False}), 404)
    assert_refused(await other_org.get(f"/review-tasks/{task['id']}"), 404)
    assert_refused(
        await other_org.post(
            f"/review-tasks/{task['id']}/decision", json={"decision": "fail", "reviewer": "x"}
        ),
        404,
    )
    assert (await other_org.get("/review-tasks", params={"course_id": course_id})).json()["total"] == 0
    assert_refused(await other_org.get(f"/courses/{course_id}/learners/{learner_id}/progress"), 404)
    assert_refused(
        await other_org.patch(
            f"/courses/{course_id}/learners/{learner_id}/lessons/exam",
            json={"proctoring_result": "failed", "reason": "r", "changed_by": "x"},
        ),
        404,
    )
    # Its own integration cannot proctor the first organisation's lessons either.
    theirs = await add_integration(other_org)
    assert_refused(
        await stack.api.put(
            f"/courses/{course_id}/lessons/exam/proctoring",
            json={"integration_id": theirs["id"], "method": "full"},
        ),
        404,
    )
    assert (await stack.api.get(f"/review-tasks/{task['id']}")).json()["state"] == "ready_for_review"


async def test_a_deleted_token_stops_working_within_the_token_cache_time(stack, other_org):
    """Valid tokens are remembered for PROCTORFLOW_TOKEN_CACHE_SECONDS (1 s in these tests), so
    most calls skip the lookup; deleting a token takes effect once that time has passed."""
    assert (await other_org.get("/integrations")).status_code == 200
    token = other_org.headers["Authorization"].removeprefix("Bearer ")
    with transaction(stack.sessions) as session:
        session.delete(session.get(ApiToken, catalog.token_digest(token)))

    assert (await other_org.get("/integrations")).status_code == 200, "remembered for a while"
    await asyncio.sleep(stack.settings.token_cache_seconds)
    assert_refused(await other_org.get("/integrations"), 401, "not valid")
