"""POST /webhooks/proctorfree: ProctorFree's events, HMAC-signed with a timestamp; wrong, stale
and replayed deliveries are refused, and an accepted one moves the attempt on."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime

from proctorfree.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from tests.api.helpers import assert_refused, open_attempt, proctored_course, unique, vendor_session


def event(session_id: str, attempt_id: str, type: str = "session.started", **more) -> dict:
    return {
        "event_id": uuid.uuid4().hex,
        "type": type,
        "session_id": session_id,
        "external_id": attempt_id,
        "occurred_at": datetime.now(UTC).isoformat(),
    } | more


def signed(secret: str, body: bytes, at: float | None = None) -> dict:
    timestamp = int(at if at is not None else time.time())
    return {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: sign(secret, timestamp, body),
    }


async def deliver(stack, client, payload: dict | bytes, headers: dict | None = None):
    body = payload if isinstance(payload, bytes) else _json(payload)
    return await client.post(
        "/webhooks/proctorfree", content=body, headers=headers or signed(stack.settings.webhook_secret, body)
    )


def _json(payload: dict) -> bytes:
    import json

    return json.dumps(payload).encode()


async def running_attempt(stack) -> tuple[str, str]:
    course_id, _ = await proctored_course(stack.api)
    opened = await open_attempt(stack.api, course_id, unique("learner"))
    return opened["attempt_id"], await vendor_session(stack, opened["attempt_id"])


async def test_a_signed_event_needs_no_bearer_token_and_moves_the_attempt_on(stack, anonymous):
    attempt_id, session_id = await running_attempt(stack)
    started = event(session_id, attempt_id)

    response = await deliver(stack, anonymous, started)

    assert response.status_code == 200, response.text
    assert response.json() == {"accepted": True, "event_id": started["event_id"]}
    await stack.wait_for_attempt(attempt_id, lambda a: a["status"] == "in_progress")


async def test_a_replayed_event_is_refused(stack, anonymous):
    attempt_id, session_id = await running_attempt(stack)
    started = event(session_id, attempt_id)
    assert (await deliver(stack, anonymous, started)).status_code == 200

    replay = await deliver(stack, anonymous, started)  # freshly signed, same event id

    assert_refused(replay, 409, "delivered already")


async def test_two_copies_of_one_event_arriving_together_are_accepted_once(stack, anonymous):
    attempt_id, session_id = await running_attempt(stack)
    started = event(session_id, attempt_id)

    replies = await asyncio.gather(deliver(stack, anonymous, started), deliver(stack, anonymous, started))

    assert sorted(r.status_code for r in replies) == [200, 409], [r.text for r in replies]


async def test_a_wrong_signature_is_refused(stack, anonymous):
    attempt_id, session_id = await running_attempt(stack)
    body = _json(event(session_id, attempt_id))

    forged = await deliver(stack, anonymous, body, signed("not-the-secret", body))
    tampered = await deliver(
        stack, anonymous, body.replace(b"started", b"finished"), signed(stack.settings.webhook_secret, body)
    )

    assert_refused(forged, 401, "does not match")
    assert_refused(tampered, 401, "does not match")
    attempt = (await stack.api.get(f"/attempts/{attempt_id}")).json()
    assert attempt["status"] == "awaiting_setup"


async def test_a_stale_delivery_is_refused_even_when_validly_signed(stack, anonymous):
    attempt_id, session_id = await running_attempt(stack)
    body = _json(event(session_id, attempt_id))

    stale = await deliver(
        stack, anonymous, body, signed(stack.settings.webhook_secret, body, at=time.time() - 3600)
    )

    assert_refused(stale, 401, "tolerance")


async def test_a_delivery_without_signature_headers_is_refused(stack, anonymous):
    body = _json(event("s", "a"))
    no_headers = await anonymous.post("/webhooks/proctorfree", content=body)
    no_signature = await deliver(stack, anonymous, body, {TIMESTAMP_HEADER: str(int(time.time()))})
    garbage_time = await deliver(
        stack, anonymous, body, {TIMESTAMP_HEADER: "yesterday", SIGNATURE_HEADER: "v1=00"}
    )

    assert_refused(no_headers, 401, "missing", TIMESTAMP_HEADER)
    assert_refused(no_signature, 401, "missing", SIGNATURE_HEADER)
    assert_refused(garbage_time, 401, "not a Unix timestamp")


async def test_a_timestamp_too_long_to_be_one_is_refused_not_a_server_error(stack, anonymous):
    body = _json(event("s", "a"))
    for signature in ("v1=00", None):
        headers = {TIMESTAMP_HEADER: "9" * 400} | ({SIGNATURE_HEADER: signature} if signature else {})
        refused = await deliver(stack, anonymous, body, headers)
        assert_refused(refused, 401, "not a Unix timestamp")


async def test_a_signed_body_that_is_not_an_event_is_refused_with_what_is_wrong(stack, anonymous):
    assert_refused(await deliver(stack, anonymous, b"{not json"), 422, "not a ProctorFree event")
    assert_refused(
        await deliver(stack, anonymous, {"event_id": "e1", "type": "session.exploded"}), 422, "type"
    )


async def test_an_event_for_an_unknown_session_answers_404_and_may_be_retried(stack, anonymous):
    unknown = event("no-such-session", "no-such-attempt")

    first = await deliver(stack, anonymous, unknown)
    retry = await deliver(stack, anonymous, unknown)

    assert_refused(first, 404, "no-such-session")
    assert_refused(retry, 404, "no-such-session")  # not remembered as delivered
