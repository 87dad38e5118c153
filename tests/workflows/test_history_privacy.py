"""Vendor credentials and learners' personal data never enter a workflow's history: the
workflow carries ids; activities read the rest from the database."""

from __future__ import annotations

from models.api import LessonIn
from models.payloads import DecisionRequest
from tests.support.harness import API_KEY, API_SECRET, LEARNER_EMAIL, LEARNER_NAME, running_harness
from workflows.attempt import AttemptWorkflow


async def test_histories_hold_no_api_secret_and_no_learner_email_or_name(time_skipping, tmp_path):
    async with running_harness(time_skipping.client, tmp_path) as h:
        h.seed([LessonIn(id="exam", title="Final exam", type="quiz")], {"exam": ("record_only", True)})
        handle = await h.open("exam")
        await h.learner_takes_exam(handle)
        await h.wait_for(handle, lambda s: s.status == "ready_for_review")
        await handle.execute_update(AttemptWorkflow.decide, DecisionRequest(decision="pass", reviewer="rita"))
        await handle.result()
        history = await h.history_json(handle)
        await h.save_history(handle, "record_only_passed")
        assert "vendor_session_created" in h.events(handle), "the vendor was called with them"
        for secret in (API_SECRET, API_KEY, LEARNER_EMAIL, LEARNER_NAME, "Ada"):
            assert secret not in history
