"""The payload codec opens only what ProctorFlow sealed, and the data converter seals failures'
messages and stack traces too: what workers and clients decode is refused unless it was written
with the key ring (`proctorflow.codec`, `proctorflow.temporal`)."""

from __future__ import annotations

import base64
import json

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.api.failure.v1 import Failure
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.exceptions import ActivityError, ApplicationError, RetryState

from proctorflow.codec import ENCODING, KEY_ID, EncryptionCodec, PayloadKeys, PayloadRefused, new_key_spec
from proctorflow.settings import Settings
from proctorflow.temporal import data_converter, pseudonym_keys
from tests.support.keys import TEST_CONVERTER, TEST_PAYLOAD_KEYS
from workflows.search_attributes import learner_pseudonym

KEYS = PayloadKeys.parse(TEST_PAYLOAD_KEYS)
EMAIL = "grace.hopper@example.org"


def plain(value: object) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=json.dumps(value).encode())


async def test_what_is_sealed_opens_again():
    codec = EncryptionCodec(KEYS)
    sealed = await codec.encode([plain({"email": EMAIL}), Payload(metadata={"encoding": b"binary/null"})])
    assert all(p.metadata["encoding"] == ENCODING and EMAIL.encode() not in p.data for p in sealed)
    opened = await codec.decode(sealed)
    assert json.loads(opened[0].data) == {"email": EMAIL}
    assert opened[1].metadata["encoding"] == b"binary/null"


@pytest.mark.parametrize(
    "unsealed",
    [
        plain({"decision": "pass"}),
        Payload(metadata={"encoding": b"binary/null"}),
        Payload(metadata={"encoding": b"json/protobuf"}, data=b"{}"),
        Payload(data=b"no metadata at all"),
    ],
    ids=["json", "null", "protobuf", "bare"],
)
async def test_a_payload_that_is_not_sealed_is_refused_not_passed_through(unsealed):
    with pytest.raises(PayloadRefused, match="payload 0 is not sealed"):
        await EncryptionCodec(KEYS).decode([unsealed])


async def test_one_unsealed_payload_among_sealed_ones_is_refused_by_its_place():
    codec = EncryptionCodec(KEYS)
    sealed = await codec.encode([plain(1)])
    with pytest.raises(PayloadRefused, match="payload 1 is not sealed"):
        await codec.decode([*sealed, plain(2)])


async def test_a_payload_sealed_with_a_key_not_in_the_ring_is_refused_with_the_fix():
    other = EncryptionCodec(PayloadKeys.parse(new_key_spec("elsewhere-1")))
    sealed = await other.encode([plain(1)])
    with pytest.raises(PayloadRefused, match="unknown key 'elsewhere-1': add it to PROCTORFLOW_PAYLOAD_KEYS"):
        await EncryptionCodec(KEYS).decode(sealed)


async def test_a_payload_altered_or_sealed_with_another_key_under_the_same_id_is_refused():
    codec = EncryptionCodec(KEYS)
    (sealed,) = await codec.encode([plain({"decision": "fail"})])
    flipped = Payload(metadata=dict(sealed.metadata), data=sealed.data[:-1] + bytes([sealed.data[-1] ^ 1]))
    truncated = Payload(metadata=dict(sealed.metadata), data=sealed.data[:5])
    impostor_keys = PayloadKeys.parse(new_key_spec("test-1"))  # same id, another key
    (impostor,) = await EncryptionCodec(impostor_keys).encode([plain({"decision": "pass"})])
    relabelled = Payload(metadata={**sealed.metadata, KEY_ID: b"test-1"}, data=impostor.data)
    for bad in (flipped, truncated, relabelled):
        with pytest.raises(PayloadRefused, match="does not open with key 'test-1'"):
            await codec.decode([bad])


async def test_workers_and_clients_refuse_a_payload_sent_without_the_key_ring():
    """What a caller with access to the Temporal server but not the keys sends (a decision as
    plain JSON, say) is not taken for ProctorFlow's own by any worker or client."""
    unsealed = pydantic_data_converter.payload_converter.to_payloads([{"decision": "pass"}])
    with pytest.raises(PayloadRefused):
        await TEST_CONVERTER.decode(unsealed)


async def test_failures_are_sealed_message_stack_trace_and_cause():
    try:
        try:
            raise ValueError(f"vendor said: {EMAIL} has key=abc123")
        except ValueError as vendor:
            raise ApplicationError(f"refused for {EMAIL}", type="RequestRejected") from vendor
    except ApplicationError as raised:
        error = raised
    failure = Failure()
    await TEST_CONVERTER.encode_failure(error, failure)

    text = str(failure)
    assert EMAIL not in text and "abc123" not in text and "Traceback" not in text and ".py" not in text
    assert failure.message == failure.cause.message == "Encoded failure"
    assert failure.application_failure_info.type == "RequestRejected", "the type stays readable"
    assert failure.encoded_attributes.metadata["encoding"] == ENCODING

    opened = await TEST_CONVERTER.decode_failure(failure)
    assert isinstance(opened, ApplicationError) and opened.message == f"refused for {EMAIL}"
    assert EMAIL in str(opened.__cause__)


async def test_an_activity_failure_the_server_wraps_opens_with_its_sealed_cause():
    failure = Failure()
    cause = ApplicationError(
        "ProctorFree refused the integration's API credentials", type="CredentialsRejected"
    )
    await TEST_CONVERTER.encode_failure(
        ActivityError(
            "activity error",
            scheduled_event_id=5,
            started_event_id=6,
            identity="worker",
            activity_type="create_session",
            activity_id="1",
            retry_state=RetryState.NON_RETRYABLE_FAILURE,
        ),
        failure,
    )
    assert "create_session" in str(failure)  # what the server needs to read stays readable
    nested = Failure()
    await TEST_CONVERTER.encode_failure(cause, nested)
    assert "refused" not in str(nested)
    assert "refused" in (await TEST_CONVERTER.decode_failure(nested)).message


async def test_every_client_and_worker_converter_seals_failures():
    """`connect` and the workers build theirs with `data_converter`, as the test suite does."""
    failure = Failure()
    await data_converter(KEYS).encode_failure(ApplicationError(f"for {EMAIL}"), failure)
    assert failure.message == "Encoded failure" and EMAIL not in str(failure)


# --- The LearnerId pseudonym --------------------------------------------------------------------


def test_the_learner_pseudonym_is_keyed_stable_and_not_the_id():
    key = pseudonym_keys(Settings(payload_keys=TEST_PAYLOAD_KEYS))[0]
    pseudonym = learner_pseudonym(key, EMAIL)
    assert pseudonym == learner_pseudonym(key, EMAIL)
    assert pseudonym.startswith("lp-") and len(pseudonym) == 35
    assert "grace" not in pseudonym and pseudonym != learner_pseudonym(key, "grace.hopper@example.com")
    assert pseudonym != learner_pseudonym(b"another key of sixteen+ bytes", EMAIL)


def test_pseudonym_keys_come_from_their_own_setting_or_from_every_payload_key_current_first():
    rotated = f"{new_key_spec('test-2')},{TEST_PAYLOAD_KEYS}"
    before = pseudonym_keys(Settings(payload_keys=TEST_PAYLOAD_KEYS))
    after = pseudonym_keys(Settings(payload_keys=rotated))
    assert len(before) == 1 and len(after) == 2 and after[1] == before[0], "older pseudonyms stay findable"
    assert before[0] not in base64.b64decode(TEST_PAYLOAD_KEYS.split(":")[1]), "derived, not the key itself"
    own = "a-pseudonym-key-of-its-own"
    assert pseudonym_keys(Settings(payload_keys=rotated, learner_pseudonym_key=own)) == [own.encode()]
