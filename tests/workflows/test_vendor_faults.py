"""ProctorFree misbehaving: outages are retried by Temporal, refused credentials park the
attempt in `error` with the reason until ops rotate them and resume."""

from __future__ import annotations

import pytest

from models.api import IntegrationPatch, LessonIn
from models.payloads import DecisionRequest
from store import catalog
from store.db import transaction
from tests.support.harness import running_harness
from workflows.attempt import AttemptWorkflow

EXAM = LessonIn(id="exam", title="Final exam", type="quiz", required=True)


@pytest.mark.parametrize("fault", ["5xx", "429", "malformed", "timeout"])
async def test_vendor_outages_are_retried_until_the_session_is_created(time_skipping, tmp_path, fault):
    async with running_harness(time_skipping.client, tmp_path, vendor_timeout=0.5) as h:
        h.seed([EXAM], {"exam": ("record_only", False)})
        await h.set_faults(fail_next=2, fault=fault, retry_after_seconds=1, timeout_seconds=1.5)
        handle = await h.open("exam")
        session_id = await h.session_id(handle)
        stats = await h.stats()
        assert stats["api_calls"]["POST /api/v1/sessions"] == 3, "two failures, then success"
        assert stats["sessions"][session_id]["creates"] == 1
        assert h.attempt(handle).status == "awaiting_setup"
        assert "parked" not in h.events(handle)


async def test_rejected_credentials_park_the_attempt_in_error_until_rotated_and_resumed(
    time_skipping, tmp_path
):
    async with running_harness(time_skipping.client, tmp_path) as h:
        h.seed([EXAM], {"exam": ("record_only", False)})
        await h.set_faults(revoked_api_keys=["pf-key-test"])
        handle = await h.open("exam")
        state = await h.wait_for(handle, lambda s: s.status == "error")
        attempt = h.attempt(handle)
        assert (
            attempt.status == "error" and "refused the integration's API credentials" in attempt.error_reason
        )
        assert "rotate" in state.waiting_for
        assert (await h.stats())["api_calls"]["POST /api/v1/sessions"] == 1, "not retried forever"

        with transaction(h.sessions) as session:
            catalog.update_integration(
                session, h.org, h.integration_id, IntegrationPatch(api_key="pf-key-rotated"), h.box
            )
        await handle.signal(AttemptWorkflow.resume)
        await h.session_id(handle)
        await h.wait_for(handle, lambda s: s.status == "awaiting_setup")
        attempt = h.attempt(handle)
        assert attempt.status == "awaiting_setup" and attempt.error_reason is None
        assert h.events(handle)[-3:] == ["parked", "resumed", "vendor_session_created"]
        await h.learner_takes_exam(handle)
        await h.wait_for(handle, lambda s: s.status == "ready_for_review")
        await handle.execute_update(AttemptWorkflow.decide, DecisionRequest(decision="fail", reviewer="rita"))
        await handle.result()
        await h.save_history(handle, "credentials_rejected_then_resumed")


async def test_credentials_revoked_while_waiting_for_the_audit_park_and_resume(time_skipping, tmp_path):
    from datetime import timedelta

    async with running_harness(time_skipping.client, tmp_path) as h:
        h.seed([EXAM], {"exam": ("full", True)})
        handle = await h.open("exam")
        session_id = await h.learner_takes_exam(handle)
        await h.wait_for(handle, lambda s: s.status == "awaiting_audit")
        await h.set_faults(revoked_api_keys=["pf-key-test"])
        await time_skipping.sleep(timedelta(hours=1, minutes=1))
        await h.wait_for(handle, lambda s: s.status == "error")
        await h.set_faults(revoked_api_keys=[])
        await h.emulator("audit", session_id, outcome="clean")
        await handle.signal(AttemptWorkflow.resume)
        await h.wait_for(handle, lambda s: s.status == "ready_for_review")
        assert h.task(handle).state == "ready_for_review"
