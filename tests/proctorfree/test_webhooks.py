"""The webhook signature: what a valid delivery looks like and every way one is refused."""

import pytest

from proctorfree.webhooks import WebhookEvent, WebhookSignatureError, sign, verify

SECRET = "whsec-test"
BODY = b'{"event_id": "e1", "type": "session.started"}'
NOW = 1_700_000_000


def test_sign_has_the_v1_hex_form():
    signature = sign(SECRET, NOW, BODY)
    assert signature.startswith("v1=")
    assert len(signature) == len("v1=") + 64
    assert signature == sign(SECRET, NOW, BODY)


def test_round_trip_verifies():
    verify(SECRET, str(NOW), sign(SECRET, NOW, BODY), BODY, now=NOW + 10)


def test_wrong_secret_is_refused():
    with pytest.raises(WebhookSignatureError, match="does not match"):
        verify("other-secret", str(NOW), sign(SECRET, NOW, BODY), BODY, now=NOW)


def test_tampered_body_is_refused():
    with pytest.raises(WebhookSignatureError, match="does not match"):
        verify(SECRET, str(NOW), sign(SECRET, NOW, BODY), BODY + b" ", now=NOW)


def test_signature_is_bound_to_its_timestamp():
    # Re-stamping an old delivery with a fresh timestamp breaks its signature.
    with pytest.raises(WebhookSignatureError, match="does not match"):
        verify(SECRET, str(NOW + 1), sign(SECRET, NOW, BODY), BODY, now=NOW)


def test_stale_timestamp_is_refused_even_when_signed():
    with pytest.raises(WebhookSignatureError, match="tolerance"):
        verify(SECRET, str(NOW), sign(SECRET, NOW, BODY), BODY, now=NOW + 301)


def test_future_timestamp_is_refused():
    with pytest.raises(WebhookSignatureError, match="tolerance"):
        verify(SECRET, str(NOW), sign(SECRET, NOW, BODY), BODY, now=NOW - 301)


def test_timestamp_at_the_edge_of_tolerance_is_accepted():
    verify(SECRET, str(NOW), sign(SECRET, NOW, BODY), BODY, now=NOW + 60, tolerance_seconds=60)


@pytest.mark.parametrize(
    ("timestamp", "signature", "reason"),
    [
        (None, sign(SECRET, NOW, BODY), "missing X-ProctorFree-Timestamp"),
        ("", sign(SECRET, NOW, BODY), "missing X-ProctorFree-Timestamp"),
        (str(NOW), None, "missing X-ProctorFree-Signature"),
        (str(NOW), "", "missing X-ProctorFree-Signature"),
        ("yesterday", sign(SECRET, NOW, BODY), "not a Unix timestamp"),
        ("9" * 400, "v1=zz", "not a Unix timestamp"),  # once: OverflowError, a 500
        ("-1", sign(SECRET, NOW, BODY), "not a Unix timestamp"),
        ("1e9", sign(SECRET, NOW, BODY), "not a Unix timestamp"),
        ("\u0661\u0667\u0660\u0660", sign(SECRET, NOW, BODY), "not a Unix timestamp"),  # Arabic digits
        (str(NOW), sign(SECRET, NOW, BODY).removeprefix("v1="), "not a v1= signature"),
        (str(NOW), "v1=zz", "does not match"),
    ],
)
def test_missing_or_garbled_headers_are_refused(timestamp, signature, reason):
    with pytest.raises(WebhookSignatureError) as raised:
        verify(SECRET, timestamp, signature, BODY, now=NOW)
    assert reason in raised.value.reason


def test_event_model_reads_an_audit_event():
    event = WebhookEvent.model_validate_json(
        '{"event_id": "e1", "type": "audit.completed", "session_id": "pf_1",'
        ' "external_id": "att-1", "occurred_at": "2024-05-01T10:00:00Z", "outcome": "flagged"}'
    )
    assert event.outcome == "flagged"
    assert event.occurred_at.tzinfo is not None
