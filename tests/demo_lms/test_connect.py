"""At start the demo LMS tells ProctorFlow, through the API only, where ProctorFree returns its
learners and where its events go; ProctorFree then returns learners to the demo LMS's quiz."""

from __future__ import annotations

from tests.api.helpers import open_attempt, proctored_course, vendor_session
from tests.demo_lms.support import DemoLms
from tests.support.stack import Stack


async def test_the_demo_lms_sets_the_organisations_return_url_and_event_endpoint_at_start(
    stack: Stack, demo: DemoLms
):
    organisation = (await stack.api.get("/organisation")).json()
    endpoint = (await stack.api.get("/event-endpoint")).json()

    assert organisation["lms_return_url"] == f"{demo.base_url}/attempts/{{attempt_id}}/quiz"
    assert endpoint["url"] == f"{demo.base_url}/events"
    assert endpoint["secret"] is None  # shown only to the demo LMS, in the reply to its PUT


async def test_proctorfree_returns_the_learner_to_the_demo_lms_quiz_after_confirm_and_start(
    stack: Stack, demo: DemoLms
):
    course_id, _ = await proctored_course(stack.api, method="full")
    opened = await open_attempt(stack.api, course_id, "learner-ada")
    session_id = await vendor_session(stack, opened["attempt_id"])

    started = await stack.emulator.post(f"/s/{session_id}/start", data={"attest": "on"})

    assert started.status_code == 303
    assert started.headers["location"] == f"{demo.base_url}/attempts/{opened['attempt_id']}/quiz"
