"""ProctorFree no longer knows an attempt's session (lost on its side; in dev, an emulator that
started afresh): it answers 404 for it. The attempt does not wait out its window for a FINISH
that cannot come: the next poll parks it in `error`, saying which session ProctorFree does not
know, and ops can cancel it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from temporalio.exceptions import ApplicationError

from activities import errors
from activities.vendor import _for_temporal
from proctorfree.client import ProctorFreeClient
from proctorfree.emulator import create_app
from proctorfree.interface import RequestRejected, SessionUnknown, VendorCredentials
from starter import ops
from tests.api.helpers import open_attempt, proctored_course, unique, vendor_session
from tests.support.servers import free_port, serve_in_thread
from tests.support.stack import running_stack

CREDENTIALS = VendorCredentials(api_key="acme-key", api_secret="acme-secret")


def unknown(session_id: str) -> str:
    return (
        f"ProctorFree does not know session {session_id} (it answers 404): "
        "cancel the attempt, or resume it once ProctorFree knows the session again"
    )


@pytest.fixture(scope="module")
def emulator_url():
    with serve_in_thread(create_app(), free_port()) as base_url:
        yield base_url


async def test_the_client_says_which_session_proctorfree_does_not_know(emulator_url) -> None:
    async with ProctorFreeClient(emulator_url, timeout=10) as pf:
        for call in (pf.get_session, pf.close_session):
            with pytest.raises(SessionUnknown) as refused:
                await call(CREDENTIALS, "pf_gone")
            assert refused.value.session_id == "pf_gone"
            assert isinstance(refused.value, RequestRejected)  # whoever handles refusals handles it
            assert "404" in str(refused.value)


def test_an_unknown_session_parks_the_attempt_with_its_id_in_the_reason() -> None:
    failure = _for_temporal(SessionUnknown("ProctorFree does not know the session of GET ... (404)", "pf_42"))
    assert isinstance(failure, ApplicationError)
    assert failure.type == errors.REQUEST_REJECTED and errors.REQUEST_REJECTED in errors.PARKING
    assert failure.non_retryable
    assert failure.message == unknown("pf_42")


async def test_an_attempt_whose_session_proctorfree_forgot_moves_to_error_instead_of_waiting(
    dev_server, tmp_path
) -> None:
    async with running_stack(dev_server.client, tmp_path) as stack:
        course_id, _ = await proctored_course(stack.api, method="full")
        attempt_id = (await open_attempt(stack.api, course_id, unique("learner")))["attempt_id"]
        session_id = await vendor_session(stack, attempt_id)
        await stack.control("start", session_id)
        await stack.wait_for_attempt(attempt_id, lambda a: a["status"] == "in_progress")

        # ProctorFree forgets every session (the emulator started afresh).
        (await stack.emulator.post("/emulator/reset")).raise_for_status()

        # The finish poll (every second here) finds the 404 and parks the attempt, with the reason.
        parked = await stack.wait_for_attempt(attempt_id, lambda a: a["status"] == "error", timeout=90)
        assert parked["error_reason"] == unknown(session_id)
        assert [e["event"] for e in parked["events"]][-1] == "parked"
        stuck = {a.attempt_id: a for a in ops.stuck_attempts(stack.sessions, timedelta(0), status="error")}
        assert stuck[attempt_id].error_reason == unknown(session_id)

        # Ops end it: the session cannot be closed either, which is noted, not parked on.
        await ops.cancel(stack.client, stack.sessions, attempt_id)
        ended = await stack.wait_for_attempt(attempt_id, lambda a: a["status"] == "expired", timeout=90)
        cancelled = ended["events"][-1]
        assert cancelled["event"] == "cancelled", ended["events"]
        assert cancelled["detail"]["vendor_session_not_closed"] == unknown(session_id)
