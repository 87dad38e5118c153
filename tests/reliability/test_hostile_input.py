"""Hostile input: whatever arrives, ProctorFlow answers with a 4xx that says what to fix, never a
5xx; every LMS endpoint wants its bearer token; oversized bodies are refused before they are
read; a webhook signed wrongly, signed long ago or delivered twice is refused; and the
integration's secret never shows in a reply or a log line.

The endpoints come from the served OpenAPI document, so a new endpoint is covered on the day
it is added. The fuzzing is schemathesis (property-based, from the OpenAPI schemas, both valid
and invalid data) against the live app on a real port, bounded in examples and in time.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import logging
import pkgutil
import time
import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import hypothesis.strategies
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.generation import GenerationMode

from proctorfree.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from tests.api.helpers import (
    add_integration,
    exam_lesson,
    learner_takes_exam,
    open_attempt,
    proctored_course,
    put_course,
    review_task_of,
    unique,
)
from tests.support.stack import Stack, running_stack

LAZY_SCHEMATHESIS = (
    schemathesis.core,
    schemathesis.engine,
    schemathesis.generation,
    schemathesis.openapi,
    schemathesis.specs,
    schemathesis.transport,
)


def _import_the_fuzzers_whole() -> None:
    """schemathesis and hypothesis import most of themselves on first use, and pytest rewrites
    each such module (they are pytest plugins) with ast.parse. CPython 3.11 before 3.11.8 can
    then fail with "AST constructor recursion depth mismatch" (gh-106905) if another thread
    builds an AST at that moment, as the app's threads may during the test. Importing them here,
    while collection runs alone, leaves nothing to import later."""
    for package in (*LAZY_SCHEMATHESIS, hypothesis.strategies):
        for module in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            with contextlib.suppress(Exception):  # optional extras whose dependencies are absent
                importlib.import_module(module.name)


_import_the_fuzzers_whole()

EXAMPLES_PER_OPERATION = 12
FUZZ_BUDGET_SECONDS = 60.0
SECRETS = ("pf-secret-hostile-71c0a9", "pf-secret-rotated-5be2d8", "pf-secret-refused-0d93e1")
OVERSIZED = b'{"padding": "' + b"x" * (2 * 1024 * 1024) + b'"}'


class Captured(logging.Handler):
    """Every log line the in-process app, worker and emulator write, fully formatted."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture(scope="module")
def captured_logs() -> Iterator[Captured]:
    handler = Captured()
    loggers = [logging.getLogger(), logging.getLogger("uvicorn"), logging.getLogger("uvicorn.error")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
    logging.getLogger().setLevel(logging.INFO)  # what `proctorflow` runs at
    yield handler
    for logger, level in zip(loggers, levels, strict=True):
        logger.removeHandler(handler)
        logger.setLevel(level)


@pytest.fixture(scope="module")
async def stack(dev_server, tmp_path_factory, captured_logs) -> AsyncIterator[Stack]:
    async with running_stack(dev_server.client, tmp_path_factory.mktemp("hostile")) as running:
        yield running


@pytest.fixture(scope="module")
def openapi(stack: Stack) -> dict:
    return httpx.get(f"{stack.base_url}/openapi.json").json()


def lms_operations(openapi: dict) -> list[tuple[str, str, dict]]:
    """(method, path, operation) of every /api/v1 endpoint in the served OpenAPI document."""
    return [
        (method.upper(), path, operation)
        for path, item in openapi["paths"].items()
        if path.startswith("/api/v1/")
        for method, operation in item.items()
        if method in ("get", "post", "put", "patch", "delete")
    ]


def concrete(path: str) -> str:
    return path.replace("{", "x-").replace("}", "")


def is_webhook(path: str) -> bool:
    return path.startswith("/api/v1/webhooks/")


# --- Fuzzing ----------------------------------------------------------------------------------


async def test_no_input_generated_from_the_openapi_schemas_gets_a_server_error(stack: Stack):
    schema = schemathesis.openapi.from_url(f"{stack.base_url}/openapi.json")
    operations = [op.ok() for op in schema.get_all_operations()]
    operations = [op for op in operations if op.path.startswith("/api/v1/")]
    assert len(operations) >= 15, [op.label for op in operations]
    headers = {"Authorization": f"Bearer {stack.token}"}

    # In a thread: the worker shares this test's event loop and must keep running meanwhile.
    failures, sent = await asyncio.to_thread(fuzz, operations, stack.base_url, headers)

    print(f"\nfuzzed {len(operations)} operations with {sent} requests")
    assert sent >= len(operations) * 2, "every operation was exercised with valid and invalid data"
    assert not failures, "\n\n".join(failures[:10])


def fuzz(operations: list, base_url: str, headers: dict[str, str]) -> tuple[list[str], int]:
    failures: list[str] = []
    sent = 0
    deadline = time.monotonic() + FUZZ_BUDGET_SECONDS
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            if time.monotonic() > deadline:
                return failures, sent
            sent += fuzz_one(operation, mode, base_url, headers, failures)
    return failures, sent


def fuzz_one(
    operation, mode: GenerationMode, base_url: str, headers: dict[str, str], failures: list[str]
) -> int:
    """Send one operation the examples hypothesis draws from its schema; note every 5xx."""
    sent = 0

    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        derandomize=True,  # the same examples every run: a failure reproduces
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def check(case) -> None:
        nonlocal sent
        response = case.call(base_url=base_url, headers=headers, timeout=30)
        sent += 1
        if response.status_code >= 500:
            failures.append(
                f"{response.status_code} from {case.method} {case.formatted_path} ({mode.value}):\n"
                f"{response.text[:500]}\nreproduce: {case.as_curl_command(headers=headers)}"
            )

    check()
    return sent


# --- Credentials, sizes, signatures -----------------------------------------------------------


async def test_every_lms_endpoint_refuses_a_missing_or_wrong_bearer_token(stack: Stack, openapi: dict):
    checked = []
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=30) as anonymous:
        for method, path, _ in lms_operations(openapi):
            if is_webhook(path):
                continue  # ProctorFree signs its webhooks instead; see the signature tests
            for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic dTpw"}):
                response = await anonymous.request(method, concrete(path), json={}, headers=headers)
                assert response.status_code == 401, (method, path, headers, response.text)
                assert response.json()["error"]["code"] == "unauthorized"
            checked.append(f"{method} {path}")
    assert len(checked) >= 15, checked


async def test_every_endpoint_with_a_body_refuses_an_oversized_one_before_reading_it(
    stack: Stack, openapi: dict
):
    with_body = [(m, p) for m, p, operation in lms_operations(openapi) if "requestBody" in operation]
    assert len(with_body) >= 8, with_body
    for method, path in with_body:
        response = await stack.api.request(
            method,
            concrete(path).removeprefix("/api/v1"),
            content=OVERSIZED,
            headers={"Content-Type": "application/json"},
        )
        assert response.status_code == 413, (method, path, response.text)
        assert "at most 1048576 bytes" in response.json()["error"]["message"]


async def test_webhooks_signed_wrongly_long_ago_or_delivered_twice_are_refused(stack: Stack):
    course_id, _ = await proctored_course(stack.api, method="record_only")
    attempt_id = (await open_attempt(stack.api, course_id, unique("learner")))["attempt_id"]
    session_id = (await stack.wait_for_attempt(attempt_id, lambda a: a["vendor_session_id"]))[
        "vendor_session_id"
    ]
    event = {
        "event_id": uuid.uuid4().hex,
        "type": "session.started",
        "session_id": session_id,
        "external_id": attempt_id,
        "occurred_at": "2026-01-01T00:00:00Z",
    }
    body = json.dumps(event).encode()
    now = int(time.time())

    async def deliver(secret: str, timestamp: int) -> httpx.Response:
        headers = {TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: sign(secret, timestamp, body)}
        return await stack.api.post("/webhooks/proctorfree", content=body, headers=headers)

    wrong = await deliver("not-the-webhook-secret", now)
    stale = await deliver(stack.settings.webhook_secret, now - 3600)
    first = await deliver(stack.settings.webhook_secret, now)
    replayed = await deliver(stack.settings.webhook_secret, now)

    assert wrong.status_code == 401 and "does not match" in wrong.json()["error"]["message"]
    assert stale.status_code == 401 and "tolerance" in stale.json()["error"]["message"]
    assert first.status_code == 200, first.text
    assert replayed.status_code == 409 and "replay" in replayed.json()["error"]["message"]


# --- Secrets ------------------------------------------------------------------------------------


async def test_the_integration_secret_never_appears_in_a_reply_or_a_log_line(
    stack: Stack, captured_logs: Captured
):
    replies: list[str] = []

    async def keep(response: httpx.Response) -> None:
        replies.append((await response.aread()).decode(errors="replace"))

    stack.api.event_hooks["response"].append(keep)
    try:
        refused = await stack.api.post(
            "/integrations", json={"name": "Refused", "api_key": "invalid-key", "api_secret": SECRETS[2]}
        )
        assert refused.status_code == 422
        integration = await add_integration(
            stack.api, api_key=unique("pf-key-hostile"), api_secret=SECRETS[0]
        )
        rotated = await stack.api.patch(f"/integrations/{integration['id']}", json={"api_secret": SECRETS[1]})
        assert rotated.status_code == 200
        await stack.api.get("/integrations")
        await stack.api.get(f"/integrations/{integration['id']}")

        # A whole attempt on the rotated credentials, through a vendor fault or two.
        course_id = await fully_proctored_course(stack, integration["id"])
        await stack.emulator.put("/emulator/faults", json={"fail_next": 2, "fault": "5xx"})
        attempt_id = (await open_attempt(stack.api, course_id, unique("learner")))["attempt_id"]
        session_id = await learner_takes_exam(stack, attempt_id)
        await stack.control("audit", session_id, outcome="flagged")
        task = await review_task_of(stack, attempt_id, "ready_for_review")
        decided = await stack.api.post(
            f"/review-tasks/{task['id']}/decision", json={"decision": "pass", "reviewer": "r"}
        )
        assert decided.status_code == 200
        await stack.wait_for_attempt(attempt_id, lambda a: a["status"] == "completed")
    finally:
        stack.api.event_hooks["response"].remove(keep)

    assert captured_logs.lines, "the log capture sees the app's log lines"
    for secret in SECRETS:
        assert not [reply for reply in replies if secret in reply], secret
        assert not [line for line in captured_logs.lines if secret in line], secret


async def fully_proctored_course(stack: Stack, integration_id: str) -> str:
    course_id = unique("course")
    await put_course(stack.api, course_id, [exam_lesson()], score_lesson_id="exam", certificate=True)
    proctoring = {"integration_id": integration_id, "method": "full", "requires_validation": True}
    reply = await stack.api.put(f"/courses/{course_id}/lessons/exam/proctoring", json=proctoring)
    assert reply.status_code == 200, reply.text
    return course_id
