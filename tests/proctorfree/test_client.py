"""The real ProctorFreeClient against the emulator over real HTTP: mapping of every outcome."""

import base64
import time

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from proctorfree.client import ProctorFreeClient
from proctorfree.emulator import create_app
from proctorfree.interface import (
    CredentialsRejected,
    MalformedResponse,
    NewSession,
    RateLimited,
    RequestRejected,
    VendorCredentials,
    VendorError,
    VendorUnavailable,
)
from tests.support.servers import free_port, serve_in_thread

SECRET = "s3cret-do-not-leak"
GOOD = VendorCredentials(api_key="acme-live-key", api_secret=SECRET)


@pytest.fixture(scope="module")
def emulator_url():
    with serve_in_thread(create_app(), free_port()) as base_url:
        yield base_url


@pytest.fixture
def control(emulator_url):
    with httpx.Client(base_url=emulator_url, timeout=5) as http:
        http.post("/emulator/reset").raise_for_status()
        yield http


@pytest.fixture
async def client(emulator_url, control):
    async with ProctorFreeClient(emulator_url, timeout=5) as pf:
        yield pf


def new_session(external_id="attempt-1", method="full") -> NewSession:
    return NewSession(
        external_id=external_id,
        exam_name="Final exam",
        learner_name="Ada Lovelace",
        learner_email="ada@example.com",
        method=method,
        return_url="http://lms.example/lessons/42",
    )


def set_faults(control, **knobs):
    control.put("/emulator/faults", json=knobs).raise_for_status()


def stats(control) -> dict:
    return control.get("/emulator/stats").json()


# --- sessions ----------------------------------------------------------------------------------


async def test_create_returns_a_new_session_with_links_on_the_emulator(client, emulator_url):
    session = await client.create_session(GOOD, new_session(method="full"))
    assert session.session_id.startswith("pf_")
    assert session.external_id == "attempt-1"
    assert session.status == "created"
    assert session.audit_status == "pending"
    assert session.setup_url == f"{emulator_url}/s/{session.session_id}/setup"
    assert session.review_url == f"{emulator_url}/review/{session.session_id}"


@pytest.mark.parametrize("method", ["record_only", "practice"])
async def test_unaudited_methods_have_no_audit(client, method):
    session = await client.create_session(GOOD, new_session(method=method))
    assert session.audit_status == "not_applicable"


async def test_create_is_idempotent_on_external_id(client, control):
    first = await client.create_session(GOOD, new_session())
    again = await client.create_session(GOOD, new_session())
    assert again.session_id == first.session_id
    assert stats(control)["sessions"][first.session_id]["creates"] == 2


async def test_external_ids_are_scoped_to_the_account(client):
    other = VendorCredentials(api_key="other-org-key", api_secret="x")
    mine = await client.create_session(GOOD, new_session())
    theirs = await client.create_session(other, new_session())
    assert mine.session_id != theirs.session_id
    with pytest.raises(RequestRejected, match="404"):
        await client.get_session(other, mine.session_id)


async def test_get_reads_the_session(client, control):
    created = await client.create_session(GOOD, new_session())
    control.post(f"/emulator/sessions/{created.session_id}/start").raise_for_status()
    session = await client.get_session(GOOD, created.session_id)
    assert session.status == "started"
    assert session.started_at is not None


async def test_unknown_session_is_rejected_with_the_vendor_message(client):
    with pytest.raises(RequestRejected, match="No session pf_missing"):
        await client.get_session(GOOD, "pf_missing")


async def test_session_ids_cannot_escape_their_path(client):
    with pytest.raises(RequestRejected, match="404"):
        await client.get_session(GOOD, "../account")


async def test_close_is_idempotent(client):
    created = await client.create_session(GOOD, new_session())
    closed = await client.close_session(GOOD, created.session_id)
    assert closed.status == "closed"
    assert (await client.close_session(GOOD, created.session_id)).status == "closed"


async def test_closing_a_finished_session_keeps_its_finish(client, control):
    created = await client.create_session(GOOD, new_session())
    control.post(f"/emulator/sessions/{created.session_id}/start").raise_for_status()
    control.post(f"/emulator/sessions/{created.session_id}/finish").raise_for_status()
    closed = await client.close_session(GOOD, created.session_id)
    assert closed.status == "closed"
    assert closed.finished_at is not None


# --- credentials -------------------------------------------------------------------------------


async def test_good_credentials_verify(client):
    await client.verify_credentials(GOOD)


@pytest.mark.parametrize("api_key", ["invalid-key", "revoked-key"])
async def test_refused_keys_are_rejected(client, api_key):
    with pytest.raises(CredentialsRejected):
        await client.verify_credentials(VendorCredentials(api_key=api_key, api_secret=SECRET))


async def test_keys_revoked_through_the_knob_are_rejected(client, control):
    await client.verify_credentials(GOOD)
    set_faults(control, revoked_api_keys=[GOOD.api_key])
    with pytest.raises(CredentialsRejected):
        await client.verify_credentials(GOOD)
    with pytest.raises(CredentialsRejected):
        await client.create_session(GOOD, new_session())


# --- faults ------------------------------------------------------------------------------------


async def test_5xx_is_vendor_unavailable(client, control):
    set_faults(control, fail_next=1, fault="5xx")
    with pytest.raises(VendorUnavailable, match="503"):
        await client.verify_credentials(GOOD)
    await client.verify_credentials(GOOD)  # only the next call failed


async def test_429_is_rate_limited_with_the_retry_after_header(client, control):
    set_faults(control, fail_next=1, fault="429", retry_after_seconds=7)
    with pytest.raises(RateLimited) as raised:
        await client.create_session(GOOD, new_session())
    assert raised.value.retry_after == 7.0


async def test_malformed_body_is_a_malformed_response(client, control):
    set_faults(control, fail_next=1, fault="malformed")
    with pytest.raises(MalformedResponse):
        await client.create_session(GOOD, new_session())


async def test_timeout_is_vendor_unavailable(emulator_url, control):
    set_faults(control, fail_next=1, fault="timeout", timeout_seconds=1.0)
    async with ProctorFreeClient(emulator_url, timeout=0.3) as impatient:
        started = time.monotonic()
        with pytest.raises(VendorUnavailable, match="timed out"):
            await impatient.verify_credentials(GOOD)
    assert time.monotonic() - started < 0.9


async def test_random_errors_follow_error_rate_and_kinds(client, control):
    set_faults(control, error_rate=1.0, error_kinds=["429"], seed=7)
    with pytest.raises(RateLimited):
        await client.verify_credentials(GOOD)
    set_faults(control, error_rate=0.0)
    await client.verify_credentials(GOOD)


async def test_unreachable_vendor_is_unavailable():
    async with ProctorFreeClient(f"http://127.0.0.1:{free_port()}", timeout=1) as nowhere:
        with pytest.raises(VendorUnavailable, match="unreachable"):
            await nowhere.verify_credentials(GOOD)


async def test_a_failed_create_changes_nothing(client, control):
    set_faults(control, fail_next=1, fault="5xx")
    with pytest.raises(VendorUnavailable):
        await client.create_session(GOOD, new_session())
    assert stats(control)["sessions"] == {}
    session = await client.create_session(GOOD, new_session())
    assert stats(control)["sessions"][session.session_id]["creates"] == 1


async def test_a_failed_close_changes_nothing(client, control):
    created = await client.create_session(GOOD, new_session())
    set_faults(control, fail_next=1, fault="malformed")
    with pytest.raises(MalformedResponse):
        await client.close_session(GOOD, created.session_id)
    assert (await client.get_session(GOOD, created.session_id)).status == "created"


async def test_the_secret_never_appears_in_an_error(client, control, emulator_url):
    errors: list[VendorError] = []
    for fault in ["5xx", "429", "malformed"]:
        set_faults(control, fail_next=1, fault=fault)
        with pytest.raises(VendorError) as raised:
            await client.get_session(GOOD, "pf_any")
        errors.append(raised.value)
    with pytest.raises(VendorError) as raised:
        await client.get_session(GOOD, "pf_missing")
    errors.append(raised.value)
    with pytest.raises(VendorError) as raised:
        await client.verify_credentials(VendorCredentials(api_key="revoked-1", api_secret=SECRET))
    errors.append(raised.value)
    for error in errors:
        assert SECRET not in str(error)
        assert SECRET not in repr(error)


# --- bodies the emulator never sends: a tiny misbehaving vendor --------------------------------


def misbehaving_vendor() -> FastAPI:
    app = FastAPI()

    @app.get("/api/v1/sessions/{session_id}")
    async def wrong_shape(session_id: str):
        return {"session_id": session_id, "status": "teleported"}

    @app.post("/api/v1/sessions/{session_id}/close")
    async def echoes_the_secret(session_id: str, request: Request):
        return JSONResponse(
            {"error": "bad", "message": f"rejected {request.headers['authorization']} {SECRET}"},
            status_code=400,
        )

    return app


@pytest.fixture(scope="module")
def misbehaving_url():
    with serve_in_thread(misbehaving_vendor(), free_port()) as base_url:
        yield base_url


async def test_a_2xx_that_is_not_a_session_is_malformed(misbehaving_url):
    async with ProctorFreeClient(misbehaving_url) as pf:
        with pytest.raises(MalformedResponse, match="does not validate"):
            await pf.get_session(GOOD, "pf_1")


async def test_an_echoed_secret_is_scrubbed_from_the_message(misbehaving_url):
    async with ProctorFreeClient(misbehaving_url) as pf:
        with pytest.raises(RequestRejected) as raised:
            await pf.close_session(GOOD, "pf_1")
    token = base64.b64encode(f"{GOOD.api_key}:{SECRET}".encode()).decode()
    assert SECRET not in str(raised.value)
    assert token not in str(raised.value)
    assert "***" in str(raised.value)
