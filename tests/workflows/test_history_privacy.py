"""Vendor credentials and learners' personal data never enter a workflow's history: the
workflow carries ids; activities read the rest from the database. Failures are sealed, and the
learner id is a pseudonym in the one place Temporal reads in clear (its search attribute)."""

from __future__ import annotations

import json

import pytest
from temporalio.client import WorkflowFailureError

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


async def test_failures_and_the_learner_id_are_not_in_clear_in_a_history_the_vendor_refused(
    time_skipping, tmp_path
):
    """The vendor refuses the credentials: no failure message, stack trace or vendor error text
    is in the history in clear (failures are sealed like payloads), and the learner's id, an
    e-mail address at this LMS, is in its search attribute as a pseudonym only."""
    async with running_harness(time_skipping.client, tmp_path) as h:
        h.seed([LessonIn(id="exam", title="Final exam", type="quiz")], {"exam": ("record_only", True)})
        await h.set_faults(revoked_api_keys=[API_KEY])
        handle = await h.open("exam", learner_id=LEARNER_EMAIL)
        await h.wait_for(handle, lambda s: s.status == "error")
        assert "refused the integration's API credentials" in (h.attempt(handle).error_reason or "")
        await handle.cancel()
        with pytest.raises(WorkflowFailureError):
            await handle.result()
        history = await handle.fetch_history()

    text = history.to_json()
    attributes = history.events[0].workflow_execution_started_event_attributes.search_attributes
    searchable = {name: json.loads(p.data) for name, p in attributes.indexed_fields.items()}
    for clear in (LEARNER_EMAIL, "refused", "invalid or has been revoked", "Traceback", 'File "'):
        assert clear not in text and clear not in json.dumps(searchable), clear
    assert searchable["LearnerId"].startswith("lp-")
    # The refusal: an activity's failure (a local activity's is in its marker), causes included.
    failures = []
    for event in history.events:
        detail = getattr(event, event.WhichOneof("attributes") or "", None)
        failure = getattr(detail, "failure", None)
        while failure is not None and failure.ByteSize():
            failures.append(failure)
            failure = failure.cause if failure.HasField("cause") else None
    assert failures and all(f.message == "Encoded failure" and not f.stack_trace for f in failures)
