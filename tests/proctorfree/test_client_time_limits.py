"""The real ProctorFreeClient's time limits against the emulator over real HTTP: a new session
carries its limit and the accommodation's note, and a running one can be extended."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from proctorfree.client import ProctorFreeClient
from proctorfree.emulator import create_app
from proctorfree.interface import RequestRejected, SessionUnknown, VendorCredentials
from tests.proctorfree.test_client import GOOD, new_session
from tests.support.servers import free_port, serve_in_thread


@pytest.fixture(scope="module")
def emulator_url() -> Iterator[str]:
    with serve_in_thread(create_app(), free_port()) as base_url:
        yield base_url


@pytest.fixture
def control(emulator_url) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emulator_url, timeout=5) as http:
        http.post("/emulator/reset").raise_for_status()
        yield http


@pytest.fixture
async def client(emulator_url, control) -> AsyncIterator[ProctorFreeClient]:
    async with ProctorFreeClient(emulator_url, timeout=5) as pf:
        yield pf


async def test_a_new_session_carries_its_limit_and_the_note_for_the_reviewer(client, control):
    new = new_session().model_copy(
        update={"time_limit_minutes": 75, "accommodation_note": "Extra time: dyslexia"}
    )

    session = await client.create_session(GOOD, new)

    assert session.time_limit_minutes == 75
    review = control.get(f"/review/{session.session_id}").text
    assert "75 minutes" in review and "Extra time: dyslexia" in review


@pytest.mark.parametrize(("method", "cap"), [("full", 210), ("record_only", 210), ("practice", 20)])
async def test_without_a_limit_proctorfree_reports_its_cap(client, method, cap):
    session = await client.create_session(GOOD, new_session(method=method))
    assert session.time_limit_minutes == cap


async def test_extending_a_running_session(client, control):
    created = await client.create_session(GOOD, new_session().model_copy(update={"time_limit_minutes": 60}))
    control.post(f"/emulator/sessions/{created.session_id}/start").raise_for_status()

    extended = await client.set_time_limit(GOOD, created.session_id, 90)

    assert (extended.time_limit_minutes, extended.status) == (90, "started")
    assert (await client.get_session(GOOD, created.session_id)).time_limit_minutes == 90


async def test_a_limit_over_the_cap_is_rejected_in_the_vendors_words(client):
    too_long = new_session(method="practice").model_copy(update={"time_limit_minutes": 45})
    with pytest.raises(RequestRejected, match=r"\(422\).*over the 20-minute cap"):
        await client.create_session(GOOD, too_long)

    created = await client.create_session(GOOD, new_session(external_id="attempt-2"))
    with pytest.raises(RequestRejected, match=r"\(422\).*cap"):
        await client.set_time_limit(GOOD, created.session_id, 211)


async def test_a_finished_session_cannot_be_extended(client, control):
    created = await client.create_session(GOOD, new_session())
    control.post(f"/emulator/sessions/{created.session_id}/start").raise_for_status()
    control.post(f"/emulator/sessions/{created.session_id}/finish").raise_for_status()

    with pytest.raises(RequestRejected, match=r"\(409\).*finished") as refused:
        await client.set_time_limit(GOOD, created.session_id, 90)
    assert not isinstance(refused.value, SessionUnknown)


async def test_extending_an_unknown_or_anothers_session_says_proctorfree_does_not_know_it(client):
    created = await client.create_session(GOOD, new_session())
    other = VendorCredentials(api_key="other-org-key", api_secret="x")
    for credentials, session_id in [(GOOD, "pf_missing"), (other, created.session_id)]:
        with pytest.raises(SessionUnknown) as unknown:
            await client.set_time_limit(credentials, session_id, 30)
        assert unknown.value.session_id == session_id
