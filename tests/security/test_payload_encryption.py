"""Temporal holds attempts sealed: raw histories on the server show no learner name, e-mail,
vendor secret or reviewer, no failure message, stack trace or vendor error text, and no learner
id (a pseudonym), while the codec endpoint opens them for an authorised caller."""

from __future__ import annotations

import base64
import json
import uuid

import httpx
import pytest
from google.protobuf.json_format import MessageToDict
from temporalio.api.failure.v1 import Failure
from temporalio.client import Client, WorkflowFailureError

from cli.find import learner_query
from models.api import CourseIn, LearnerIn, LessonIn, OpenAttemptIn, ProctoringIn
from models.payloads import ExamResult, workflow_id_for
from starter.attempts import open_attempt
from starter.decisions import decide_attempt
from starter.signals import get_attempt
from store import catalog
from store.db import transaction
from tests.support.histories import STACK_TRACE_MARKS, readable
from tests.support.stack import running_stack
from workflows.attempt import AttemptWorkflow

SECRET = "pf-secret-never-in-clear"
EMAIL = "grace.hopper@example.org"
NAME = "Grace Hopper"
REVIEWER = "Rita Reviewer"


async def test_raw_histories_are_sealed_and_the_codec_opens_them_only_for_authorised_callers(
    dev_server, tmp_path
):
    async with running_stack(dev_server.client, tmp_path) as stack:
        with transaction(stack.sessions) as session:
            integration = catalog.add_integration(
                session, "default", "PF", "pf-key", SECRET, True, _box(stack)
            )
            lessons = [LessonIn(id="exam", title="Final exam", type="quiz", required=False)]
            catalog.put_course(session, "default", "course-1", CourseIn(title="Course", lessons=lessons))
            catalog.set_proctoring(
                session,
                "default",
                "course-1",
                "exam",
                ProctoringIn(integration_id=integration.id, method="record_only", requires_validation=True),
            )
        body = OpenAttemptIn(
            course_id="course-1",
            lesson_id="exam",
            learner=LearnerIn(id="l-1", name=NAME, email=EMAIL),
            attempt_number=1,
        )
        opened = await open_attempt(stack.client, stack.sessions, stack.settings, "default", body)
        handle = stack.client.get_workflow_handle(workflow_id_for(opened.attempt_id))
        state = await _until(handle, lambda s: s.vendor_session_id is not None)
        await stack.control("start", state.vendor_session_id)
        await handle.signal(AttemptWorkflow.exam_result, ExamResult(score=77, passed=True))
        await stack.control("finish", state.vendor_session_id)
        await _until(handle, lambda s: s.status == "ready_for_review")
        await decide_attempt(
            stack.client,
            stack.sessions,
            get_attempt(stack.sessions, "default", opened.attempt_id),
            "pass",
            REVIEWER,
        )
        await handle.result()

        # What the server holds, read without the codec.
        raw = Client(stack.client.service_client, namespace="default")
        history = await raw.get_workflow_handle(handle.id).fetch_history()
        text = history.to_json()
        for clear in (SECRET, EMAIL, NAME, REVIEWER):
            assert clear not in readable(text)
        assert base64.b64encode(b"binary/encrypted").decode() in text

        started = MessageToDict(
            history.events[0].workflow_execution_started_event_attributes.input.payloads[0]
        )
        async with httpx.AsyncClient(base_url=stack.base_url) as http:
            refused = await http.post("/codec/decode", json={"payloads": [started]})
            assert (
                refused.status_code == 401 and "PROCTORFLOW_CODEC_TOKEN" in refused.json()["error"]["message"]
            )
            wrong = await http.post("/codec/decode", json={"payloads": [started]}, headers=_bearer("nope"))
            assert wrong.status_code == 401

            opened_payloads = await http.post(
                "/codec/decode", json={"payloads": [started]}, headers=_bearer(stack.settings.codec_token)
            )
            assert opened_payloads.status_code == 200
            decoded = json.loads(base64.b64decode(opened_payloads.json()["payloads"][0]["data"]))
            assert decoded["attempt_id"] == opened.attempt_id
            assert EMAIL not in json.dumps(decoded), "even decoded, the workflow input holds ids only"

            preflight = await http.options(
                "/codec/decode",
                headers={
                    "Origin": stack.settings.codec_ui_origin,
                    "Access-Control-Request-Method": "POST",
                    "Access-Control-Request-Headers": "authorization,content-type,x-namespace",
                },
            )
            assert preflight.headers["access-control-allow-origin"] == stack.settings.codec_ui_origin


VENDOR_TEXT = "The API key is invalid or has been revoked."  # the emulator's 401 body
REFUSED = "ProctorFree refused the integration's API credentials: rotate them, then resume"


async def test_failures_are_sealed_and_the_learner_id_is_a_pseudonym_in_raw_histories(dev_server, tmp_path):
    """The vendor refuses the credentials: the refusal (our words, the vendor's text, the stack
    trace, the cause) is in the history sealed, and the learner, whose LMS id is an e-mail
    address, is found by a pseudonym, not by the address."""
    async with running_stack(dev_server.client, tmp_path) as stack:
        with transaction(stack.sessions) as session:
            integration = catalog.add_integration(
                session, "default", "PF", f"revoked-{uuid.uuid4().hex[:8]}", SECRET, True, _box(stack)
            )
            lessons = [LessonIn(id="exam", title="Final exam", type="quiz", required=False)]
            catalog.put_course(session, "default", "course-2", CourseIn(title="Course", lessons=lessons))
            catalog.set_proctoring(
                session,
                "default",
                "course-2",
                "exam",
                ProctoringIn(integration_id=integration.id, method="record_only", requires_validation=True),
            )
        body = OpenAttemptIn(
            course_id="course-2",
            lesson_id="exam",
            learner=LearnerIn(id=EMAIL, name=NAME, email=EMAIL),  # an LMS whose learner ids are e-mails
            attempt_number=1,
        )
        opened = await open_attempt(stack.client, stack.sessions, stack.settings, "default", body)
        handle = stack.client.get_workflow_handle(workflow_id_for(opened.attempt_id))
        parked = await _until(handle, lambda s: s.status == "error")
        assert parked.status == "error"
        assert get_attempt(stack.sessions, "default", opened.attempt_id).error_reason == REFUSED
        await handle.cancel()
        with pytest.raises(WorkflowFailureError):
            await handle.result()

        raw = Client(stack.client.service_client, namespace="default")
        history = await raw.get_workflow_handle(handle.id).fetch_history()
        text = readable(history.to_json())
        for clear in (EMAIL, NAME, SECRET, VENDOR_TEXT, REFUSED, "refused", *STACK_TRACE_MARKS):
            assert clear not in text, f"{clear!r} is in the raw history"

        failures = [failure for event in history.events for failure in _failures_of(event)]
        assert failures, "the vendor's refusal is in the history"
        for failure in failures:
            assert failure.message == "Encoded failure" and not failure.stack_trace
            assert failure.encoded_attributes.metadata["encoding"] == b"binary/encrypted"
        refusal = next(f for f in failures if f.HasField("cause"))
        opened_failure = await stack.client.data_converter.decode_failure(_copy(refusal))
        chain = [
            opened_failure,
            opened_failure.__cause__,
            getattr(opened_failure.__cause__, "__cause__", None),
        ]
        assert REFUSED in [getattr(e, "message", None) for e in chain], "sealed, not lost"
        assert any(VENDOR_TEXT in str(e) for e in chain)

        started = history.events[0].workflow_execution_started_event_attributes
        learner = json.loads(started.search_attributes.indexed_fields["LearnerId"].data)
        _, query = learner_query(stack.settings, EMAIL)
        assert learner != EMAIL and f"'{learner}'" in query
        found = [w.id async for w in raw.list_workflows(f"{query} AND CourseId = 'course-2'")]
        assert found in ([], [handle.id])  # visibility is eventually consistent; never the e-mail


def _failures_of(event) -> list[Failure]:
    """Every failure an event holds, causes included."""
    attributes = event.WhichOneof("attributes")
    detail = getattr(event, attributes) if attributes else None
    failure = getattr(detail, "failure", None) if detail is not None else None
    found = []
    while failure is not None and failure.ByteSize():
        found.append(failure)
        failure = failure.cause if failure.HasField("cause") else None
    return found


def _copy(failure: Failure) -> Failure:
    copied = Failure()
    copied.CopyFrom(failure)
    return copied


def _bearer(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _box(stack):
    from proctorflow.crypto import SecretBox

    return SecretBox(stack.settings.secret_key or "")


async def _until(handle, predicate, timeout: float = 30.0):
    import asyncio

    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        state = await handle.query(AttemptWorkflow.state)
        if predicate(state) or asyncio.get_running_loop().time() > deadline:
            return state
        await asyncio.sleep(0.1)
