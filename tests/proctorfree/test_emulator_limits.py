"""The emulator's time limits over real HTTP: every session ends at its limit (the method's cap
when none was asked), warns by webhook five minutes before, and can be extended while it runs.
A settable clock drives the exact moments; `minute_seconds` lets the ticker do it by itself."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest

from proctorfree.emulator import create_app
from proctorfree.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from tests.proctorfree.test_emulator import SettableClock, WebhookReceiver, control, read, wait_for
from tests.support.servers import free_port, serve_in_thread

SECRET = "whsec-limits-test"


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    with serve_in_thread(receiver.app, free_port()) as base_url:
        receiver.url = f"{base_url}/hooks"
        yield receiver


@contextmanager
def emulator(**options) -> Iterator[httpx.Client]:
    with (
        serve_in_thread(create_app(webhook_secret=SECRET, **options), free_port()) as base_url,
        httpx.Client(base_url=base_url, auth=("acme-key", "acme-secret"), timeout=5) as http,
    ):
        yield http


@pytest.fixture
def clock() -> SettableClock:
    return SettableClock()


@pytest.fixture
def http(clock) -> Iterator[httpx.Client]:
    with emulator(clock=clock) as client:
        yield client


def open_session(
    http: httpx.Client, method: str = "full", external_id: str = "att-1", **more
) -> httpx.Response:
    body = {
        "external_id": external_id,
        "exam_name": "Final exam",
        "learner": {"name": "Ada Lovelace", "email": "ada@example.com"},
        "method": method,
    } | more
    return http.post("/api/v1/sessions", json=body)


def started(http: httpx.Client, **more) -> str:
    response = open_session(http, **more)
    assert response.status_code == 201, response.text
    sid = response.json()["session_id"]
    assert control(http, sid, "start").status_code == 200
    return sid


def set_limit(http: httpx.Client, sid: str, minutes: int) -> httpx.Response:
    return http.patch(f"/api/v1/sessions/{sid}", json={"time_limit_minutes": minutes})


def at(session: dict, field: str) -> datetime:
    return datetime.fromisoformat(session[field])


# --- limits and their ends -----------------------------------------------------------------------


def test_an_explicit_limit_ends_the_session_there_capped(http, clock):
    sid = started(http, time_limit_minutes=30)
    start = clock.now
    assert read(http, sid)["time_limit_minutes"] == 30

    clock.now = start + timedelta(minutes=29, seconds=59)
    assert read(http, sid)["status"] == "started"
    clock.now = start + timedelta(minutes=31)
    ended = read(http, sid)

    assert (ended["status"], ended["capped"]) == ("finished", True)
    assert at(ended, "finished_at") == start + timedelta(minutes=30)


@pytest.mark.parametrize(("method", "cap"), [("full", 210), ("record_only", 210), ("practice", 20)])
def test_without_a_limit_a_session_gets_its_methods_cap(http, clock, method, cap):
    sid = started(http, method=method)
    start = clock.now
    assert read(http, sid)["time_limit_minutes"] == cap

    clock.now = start + timedelta(minutes=cap) - timedelta(seconds=1)
    assert read(http, sid)["status"] == "started"
    clock.now = start + timedelta(minutes=cap)
    ended = read(http, sid)
    assert (ended["status"], ended["capped"]) == ("finished", True)


def test_a_learners_finish_before_the_limit_is_not_capped(http, clock):
    sid = started(http, time_limit_minutes=10)
    assert control(http, sid, "finish").json()["capped"] is False
    clock.now += timedelta(minutes=60)
    assert read(http, sid)["capped"] is False


def test_extending_a_running_session_moves_its_end(http, clock):
    sid = started(http, method="record_only", time_limit_minutes=10)
    start = clock.now
    clock.now = start + timedelta(minutes=9)

    extended = set_limit(http, sid, 25)

    assert extended.status_code == 200, extended.text
    assert (extended.json()["time_limit_minutes"], extended.json()["status"]) == (25, "started")
    clock.now = start + timedelta(minutes=24)
    assert read(http, sid)["status"] == "started"
    clock.now = start + timedelta(minutes=26)
    assert at(read(http, sid), "finished_at") == start + timedelta(minutes=25)


def test_a_limit_can_be_set_before_the_start(http):
    sid = open_session(http).json()["session_id"]
    assert set_limit(http, sid, 45).json()["time_limit_minutes"] == 45


@pytest.mark.parametrize(("method", "minutes"), [("practice", 21), ("full", 211), ("record_only", 500)])
def test_a_limit_over_the_methods_cap_is_refused(http, method, minutes):
    refused = open_session(http, method=method, time_limit_minutes=minutes)
    assert refused.status_code == 422
    assert refused.json()["error"] == "invalid_time_limit" and "cap" in refused.json()["message"]

    sid = started(http, method=method, external_id=f"att-{method}")
    too_long = set_limit(http, sid, minutes)
    assert too_long.status_code == 422 and "cap" in too_long.json()["message"]
    assert read(http, sid)["time_limit_minutes"] != minutes


def test_a_finished_or_closed_session_keeps_its_limit(http):
    finished = started(http, external_id="att-finished")
    control(http, finished, "finish")
    closed = open_session(http, external_id="att-closed").json()["session_id"]
    http.post(f"/api/v1/sessions/{closed}/close").raise_for_status()

    for sid in (finished, closed):
        refused = set_limit(http, sid, 60)
        assert refused.status_code == 409, refused.text
        assert refused.json()["error"] == "invalid_state"


def test_patching_an_unknown_or_anothers_session_is_404_and_a_bad_limit_422(http):
    sid = open_session(http).json()["session_id"]
    assert set_limit(http, "pf_nope", 30).status_code == 404
    other = http.patch(f"/api/v1/sessions/{sid}", json={"time_limit_minutes": 30}, auth=("other-key", "x"))
    assert other.status_code == 404
    assert set_limit(http, sid, 0).status_code == 422
    assert http.patch(f"/api/v1/sessions/{sid}", json={}).status_code == 422


# --- warnings and webhooks ------------------------------------------------------------------------


def kinds(receiver: WebhookReceiver) -> list[str]:
    return [event.type for event in receiver.events()]


def test_the_ticker_warns_then_ends_a_session_with_no_one_polling(receiver):
    # 10 emulated minutes in 2 s: the warning at 1 s, the end at 2 s.
    with emulator(webhook_url=receiver.url, minute_seconds=0.2) as http:
        sid = started(http, method="record_only", time_limit_minutes=10)
        wait_for(lambda: len(receiver.deliveries) == 3, timeout=10)
        ended = read(http, sid)

    started_event, warning, finished = receiver.events()
    assert kinds(receiver) == ["session.started", "session.warning", "session.finished"]
    assert (warning.minutes_left, warning.session_id, warning.external_id) == (5, sid, "att-1")
    assert warning.occurred_at == started_event.occurred_at + timedelta(seconds=1)
    assert finished.capped is True and finished.occurred_at == started_event.occurred_at + timedelta(
        seconds=2
    )
    assert (ended["status"], ended["capped"]) == ("finished", True)
    assert at(ended, "finished_at") == finished.occurred_at
    for headers, body in receiver.deliveries:
        verify(
            SECRET,
            headers[TIMESTAMP_HEADER.lower()],
            headers[SIGNATURE_HEADER.lower()],
            body,
            now=time.time(),
        )


def test_a_learners_finish_says_it_was_not_capped(receiver):
    with emulator(webhook_url=receiver.url) as http:
        sid = started(http)
        control(http, sid, "finish")
        wait_for(lambda: len(receiver.deliveries) == 2)
    finished = receiver.events()[1]
    assert (finished.type, finished.capped, finished.minutes_left) == ("session.finished", False, None)


def test_the_warning_goes_once_and_again_before_an_extended_end(receiver, clock):
    with emulator(webhook_url=receiver.url, clock=clock) as http:
        sid = started(http, time_limit_minutes=10)
        start = clock.now
        clock.now = start + timedelta(minutes=6)
        read(http, sid)
        read(http, sid)
        wait_for(lambda: kinds(receiver) == ["session.started", "session.warning"])

        set_limit(http, sid, 20).raise_for_status()  # the new end is 14 minutes away: warn again
        clock.now = start + timedelta(minutes=14)
        read(http, sid)
        assert kinds(receiver) == ["session.started", "session.warning"]
        clock.now = start + timedelta(minutes=16)
        read(http, sid)
        clock.now = start + timedelta(minutes=20)
        read(http, sid)
        wait_for(lambda: len(receiver.deliveries) == 4)

    assert kinds(receiver) == ["session.started", "session.warning", "session.warning", "session.finished"]
    assert receiver.events()[2].occurred_at == start + timedelta(minutes=15)


def test_no_warning_once_the_end_has_passed(receiver, clock):
    with emulator(webhook_url=receiver.url, clock=clock) as http:
        sid = started(http, method="record_only", time_limit_minutes=10)
        clock.now += timedelta(minutes=11)  # nobody looked in between (an emulator down, say)
        assert read(http, sid)["capped"] is True
        wait_for(lambda: len(receiver.deliveries) == 2)
    assert kinds(receiver) == ["session.started", "session.finished"]


def test_a_limit_of_five_minutes_or_less_warns_at_the_start(receiver):
    with emulator(webhook_url=receiver.url) as http:
        started(http, time_limit_minutes=3)
        wait_for(lambda: len(receiver.deliveries) == 2)
    assert kinds(receiver) == ["session.started", "session.warning"]
    assert receiver.events()[1].minutes_left == 3


def test_the_minute_is_a_knob(receiver):
    with emulator(webhook_url=receiver.url) as http:
        put = http.put("/emulator/faults", json={"minute_seconds": 0.1})
        assert put.json()["minute_seconds"] == 0.1
        assert http.put("/emulator/faults", json={"minute_seconds": 0}).status_code == 422
        sid = started(http, method="practice")  # its 20 minutes in 2 s
        wait_for(lambda: kinds(receiver)[-1:] == ["session.finished"], timeout=10)
        assert read(http, sid)["capped"] is True


# --- what people see ------------------------------------------------------------------------------


def test_the_reviewer_sees_the_limit_and_the_note_escaped(http):
    note = '<script>alert("x")</script> Extra time & a quiet room'
    sid = started(http, time_limit_minutes=90, accommodation_note=note)
    practice = started(http, method="practice", external_id="att-practice")

    page = http.get(f"/review/{sid}").text
    default = http.get(f"/review/{practice}").text

    assert '<dd id="time-limit">90 minutes</dd>' in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; Extra time &amp; a quiet room" in page
    assert "<script>" not in page
    assert '<dd id="time-limit">20 minutes (practice cap)</dd>' in default
    assert 'id="accommodation-note"' not in default
    # The note is for the reviewer's page: the API's session never carries it.
    assert "quiet room" not in json.dumps(read(http, sid))


def test_the_learners_window_shows_the_limit_then_that_it_was_reached(http, clock):
    sid = started(http, time_limit_minutes=8)
    assert "Time limit: 8 minutes" in http.get(f"/s/{sid}/window").text
    clock.now += timedelta(minutes=4)
    assert "5 minutes left" in http.get(f"/s/{sid}/window").text
    clock.now += timedelta(minutes=4)
    ended = http.get(f"/s/{sid}/window").text
    assert "Proctoring session ended" in ended and "reached its 8-minute time limit" in ended
    assert "ended at its 8-minute limit" in http.get(f"/review/{sid}").text


# --- kept in the sessions file ----------------------------------------------------------------------


def test_a_restarted_emulator_keeps_limits_notes_and_warnings(tmp_path: Path, clock):
    sessions_file = tmp_path / "emulator-sessions.json"
    with emulator(clock=clock, sessions_file=sessions_file) as http:
        sid = started(http, time_limit_minutes=10, accommodation_note="Screen reader")
        clock.now += timedelta(minutes=6)
        read(http, sid)  # warned
    saved = json.loads(sessions_file.read_text())["sessions"][0]
    assert (saved["time_limit_minutes"], saved["accommodation_note"], saved["warned"]) == (
        10,
        "Screen reader",
        True,
    )

    with emulator(clock=clock, sessions_file=sessions_file) as http:
        assert read(http, sid)["time_limit_minutes"] == 10
        assert "Screen reader" in http.get(f"/review/{sid}").text
        clock.now += timedelta(minutes=4)
        assert read(http, sid)["capped"] is True
