"""The emulator over real HTTP: learner pages, control API, audit timing, practice cap, webhooks."""

import asyncio
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse

from proctorfree.emulator import create_app
from proctorfree.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, WebhookEvent, verify
from tests.support.servers import free_port, serve_in_thread

WEBHOOK_SECRET = "whsec-emulator-test"


# --- helpers: a tiny LMS to return to, a webhook receiver, a settable clock -------------------


def lms_app() -> FastAPI:
    app = FastAPI()

    @app.get("/lessons/{lesson_id}")
    async def lesson(lesson_id: str) -> HTMLResponse:
        return HTMLResponse(f"<h1>Quiz of lesson {lesson_id}</h1>")

    return app


class WebhookReceiver:
    """An ASGI app that keeps every delivery it receives."""

    def __init__(self) -> None:
        self.deliveries: list[tuple[dict[str, str], bytes]] = []
        self.slow_for: dict[str, float] = {}  # session id -> seconds its deliveries take
        self._lock = threading.Lock()
        self.app = FastAPI()
        self.app.post("/hooks")(self._receive)

    async def _receive(self, request: Request) -> dict[str, bool]:
        body = await request.body()
        await asyncio.sleep(self.slow_for.get(WebhookEvent.model_validate_json(body).session_id, 0))
        with self._lock:
            self.deliveries.append((dict(request.headers), body))
        return {"ok": True}

    def events(self) -> list[WebhookEvent]:
        with self._lock:
            return [WebhookEvent.model_validate_json(body) for _, body in self.deliveries]


class SettableClock:
    def __init__(self) -> None:
        self.now = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


# --- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def lms_url():
    with serve_in_thread(lms_app(), free_port()) as base_url:
        yield base_url


@pytest.fixture(scope="module")
def emulator_url():
    with serve_in_thread(create_app(), free_port()) as base_url:
        yield base_url


@pytest.fixture
def http(emulator_url):
    """A plain HTTP client on the emulator (API calls authenticate as an ordinary account)."""
    with httpx.Client(base_url=emulator_url, auth=("acme-key", "acme-secret"), timeout=5) as c:
        c.post("/emulator/reset").raise_for_status()
        yield c


def create_session(http, lms_url="http://lms.example", method="full", external_id="att-1"):
    body = {
        "external_id": external_id,
        "exam_name": "Final exam",
        "learner": {"name": "Ada Lovelace", "email": "ada@example.com"},
        "method": method,
        "return_url": f"{lms_url}/lessons/42",
    }
    response = http.post("/api/v1/sessions", json=body)
    assert response.status_code == 201
    return response.json()


def read(http, session_id) -> dict:
    response = http.get(f"/api/v1/sessions/{session_id}")
    response.raise_for_status()
    return response.json()


def control(http, session_id, step, **body) -> httpx.Response:
    return http.post(f"/emulator/sessions/{session_id}/{step}", json=body or None)


def put_faults(http, **knobs) -> dict:
    response = http.put("/emulator/faults", json=knobs)
    response.raise_for_status()
    return response.json()


# --- learner pages -----------------------------------------------------------------------------


def test_learner_walks_from_setup_to_start_to_finish(http, lms_url):
    session = create_session(http, lms_url)
    sid = session["session_id"]

    setup = http.get(session["setup_url"])
    assert "Compatibility test" in setup.text
    for device in ["Camera", "Monitor", "Microphone"]:
        assert device in setup.text
    assert 'id="run-compat"' in setup.text and "Run compatibility test" in setup.text

    tested = http.post(f"/s/{sid}/setup/compatibility", follow_redirects=True)
    assert "Your system is compatible" in tested.text
    assert f'href="/s/{sid}/profile"' in tested.text

    profile = http.get(f"/s/{sid}/profile")
    assert 'id="take-photo"' in profile.text and "Take profile photo" in profile.text
    assert 'id="id-type"' not in profile.text
    photographed = http.post(f"/s/{sid}/profile", follow_redirects=True)
    assert "Profile photo captured" in photographed.text
    assert f'href="/s/{sid}/start"' in photographed.text

    start = http.get(f"/s/{sid}/start")
    assert 'id="attest"' in start.text
    assert 'id="confirm-start"' in start.text
    assert "CONFIRM AND START PROCTORED SESSION" in start.text
    assert http.post(f"/s/{sid}/start").status_code == 400  # no attestation
    assert read(http, sid)["status"] == "created"

    started = http.post(f"/s/{sid}/start", data={"attest": "1"})
    assert started.status_code == 303
    assert started.headers["location"] == session_return_url(lms_url)
    lesson = http.post(f"/s/{sid}/start", data={"attest": "1"}, follow_redirects=True)
    assert str(lesson.url) == session_return_url(lms_url)
    assert "Quiz of lesson 42" in lesson.text
    assert read(http, sid)["status"] == "started"

    window = http.get(f"/s/{sid}/window")
    assert 'id="finish"' in window.text and "FINISH" in window.text
    assert f'href="{session_return_url(lms_url)}"' in window.text and "Open exam again" in window.text
    assert 'id="support"' in window.text
    confirming = http.get(f"/s/{sid}/window", params={"confirm": "1"})
    assert "Are you sure?" in confirming.text
    assert 'id="finish-confirm"' in confirming.text
    assert read(http, sid)["status"] == "started"  # pressing FINISH alone changes nothing

    ended = http.post(f"/s/{sid}/finish", follow_redirects=True)
    assert "Proctoring session ended" in ended.text
    finished = read(http, sid)
    assert finished["status"] == "finished"
    assert finished["finished_at"] is not None


def session_return_url(lms_url: str) -> str:
    return f"{lms_url}/lessons/42"


def test_without_a_return_url_the_learner_lands_on_proctorfrees_own_you_may_close_page(http):
    body = {
        "external_id": "att-no-return",
        "exam_name": "Final exam",
        "learner": {"name": "Ada Lovelace", "email": "ada@example.com"},
        "method": "full",
    }
    sid = http.post("/api/v1/sessions", json=body).json()["session_id"]

    started = http.post(f"/s/{sid}/start", data={"attest": "1"})
    landed = http.get(started.headers["location"])
    window = http.get(f"/s/{sid}/window")

    assert started.status_code == 303 and started.headers["location"] == f"/s/{sid}/started"
    assert landed.status_code == 200 and "You may close this window" in landed.text
    assert "Final exam" in landed.text and read(http, sid)["status"] == "started"
    assert "Open exam again" not in window.text and 'id="finish"' in window.text


@pytest.mark.parametrize("how", ["knob", "query"])
def test_profile_captures_an_id_when_id_check_is_on(http, how):
    sid = create_session(http)["session_id"]
    if how == "knob":
        put_faults(http, id_check=True)
        page = http.get(f"/s/{sid}/profile")
    else:
        page = http.get(f"/s/{sid}/profile", params={"id_check": "1"})
    assert 'id="id-type"' in page.text
    captured = http.post(f"/s/{sid}/profile", data={"id_check": "1"}, follow_redirects=True)
    assert "ID captured" in captured.text


def test_unknown_session_pages_are_404(http):
    assert http.get("/s/pf_nope/setup").status_code == 404
    assert http.get("/review/pf_nope").status_code == 404


def test_review_page_shows_the_audit_report(http):
    sid = create_session(http)["session_id"]
    control(http, sid, "start")
    control(http, sid, "finish")
    control(http, sid, "audit", outcome="flagged")
    page = http.get(f"/review/{sid}")
    assert page.status_code == 200
    assert "Recording" in page.text
    assert '<dd id="audit-status">complete</dd>' in page.text
    assert '<dd id="audit-outcome">flagged</dd>' in page.text


# --- control API -------------------------------------------------------------------------------


def test_control_api_drives_a_full_session(http):
    sid = create_session(http)["session_id"]
    put_faults(http, audit_delay_seconds=3600)
    assert control(http, sid, "finish").status_code == 409  # not started yet
    started = control(http, sid, "start").json()
    assert started["status"] == "started" and started["started_at"]
    assert control(http, sid, "audit", outcome="clean").status_code == 400  # not finished
    finished = control(http, sid, "finish").json()
    assert finished["status"] == "finished" and finished["audit_status"] == "pending"
    audited = control(http, sid, "audit", outcome="flagged").json()
    assert (audited["audit_status"], audited["audit_outcome"]) == ("complete", "flagged")
    assert read(http, sid)["audit_outcome"] == "flagged"


def test_only_full_sessions_are_audited(http):
    sid = create_session(http, method="record_only")["session_id"]
    control(http, sid, "start")
    control(http, sid, "finish")
    response = control(http, sid, "audit", outcome="clean")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_state"


def test_control_api_answers_404_for_unknown_sessions(http):
    assert control(http, "pf_nope", "start").status_code == 404


def test_faults_update_partially_and_reset(http):
    defaults = http.get("/emulator/faults").json()
    assert defaults["fail_next"] == 0 and defaults["audit_delay_seconds"] == 5.0
    updated = put_faults(http, fail_next=2, fault="429")
    assert (updated["fail_next"], updated["fault"]) == (2, "429")
    assert put_faults(http, retry_after_seconds=9)["fail_next"] == 2  # merged, not replaced
    assert http.put("/emulator/faults", json={"fault": "meteor"}).status_code == 422
    assert http.put("/emulator/faults", json={"no_such_knob": 1}).status_code == 422
    http.post("/emulator/reset").raise_for_status()
    assert http.get("/emulator/faults").json() == defaults


def test_faults_spare_the_control_api_and_pages(http):
    sid = create_session(http)["session_id"]
    put_faults(http, fail_next=3, fault="5xx")
    assert control(http, sid, "start").status_code == 200
    assert http.get(f"/s/{sid}/window").status_code == 200
    assert http.get("/emulator/faults").json()["fail_next"] == 3
    assert http.get(f"/api/v1/sessions/{sid}").status_code == 503


def test_a_failed_api_call_changes_no_state(http):
    sid = create_session(http)["session_id"]
    put_faults(http, fail_next=1, fault="429", retry_after_seconds=4)
    refused = http.post(f"/api/v1/sessions/{sid}/close")
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "4"
    assert read(http, sid)["status"] == "created"
    assert http.get("/emulator/stats").json()["sessions"][sid]["closes"] == 0


def test_stats_count_calls_and_status_checks(http):
    sid = create_session(http)["session_id"]
    for _ in range(3):
        read(http, sid)
    http.post(f"/api/v1/sessions/{sid}/close").raise_for_status()
    stats = http.get("/emulator/stats").json()
    assert stats["sessions"][sid] == {"status_checks": 3, "creates": 1, "closes": 1}
    assert stats["api_calls"]["GET /api/v1/sessions/{session_id}"] == 3
    assert stats["api_calls"]["POST /api/v1/sessions"] == 1
    assert stats["api_calls"]["POST /api/v1/sessions/{session_id}/close"] == 1


# --- audit timing ------------------------------------------------------------------------------


def test_full_audit_completes_after_the_delay(http):
    put_faults(http, audit_delay_seconds=0.2)
    sid = create_session(http)["session_id"]
    control(http, sid, "start")
    control(http, sid, "finish")
    assert read(http, sid)["audit_status"] == "pending"
    time.sleep(0.3)
    audited = read(http, sid)
    assert (audited["audit_status"], audited["audit_outcome"]) == ("complete", "clean")


def test_full_audit_completes_after_n_status_checks(http):
    put_faults(http, audit_delay_seconds=3600, audit_ready_after_checks=3)
    sid = create_session(http)["session_id"]
    control(http, sid, "start")
    read(http, sid)  # reads before the finish do not count
    control(http, sid, "finish")
    assert read(http, sid)["audit_status"] == "pending"
    assert read(http, sid)["audit_status"] == "pending"
    assert read(http, sid)["audit_status"] == "complete"


def test_practice_session_is_capped_at_20_minutes():
    clock = SettableClock()
    with (
        serve_in_thread(create_app(clock=clock), free_port()) as base_url,
        httpx.Client(base_url=base_url, auth=("acme-key", "x")) as http,
    ):
        practice = create_session(http, method="practice", external_id="p")["session_id"]
        recorded = create_session(http, method="record_only", external_id="r")["session_id"]
        control(http, practice, "start")
        control(http, recorded, "start")
        started_at = clock.now

        clock.now = started_at + timedelta(minutes=19, seconds=59)
        assert read(http, practice)["status"] == "started"

        clock.now = started_at + timedelta(minutes=25)
        capped = read(http, practice)
        assert (capped["status"], capped["capped"]) == ("finished", True)
        assert datetime.fromisoformat(capped["finished_at"]) == started_at + timedelta(minutes=20)
        assert read(http, recorded)["status"] == "started"  # only practice is capped


# --- webhooks ----------------------------------------------------------------------------------


@pytest.fixture
def receiver():
    receiver = WebhookReceiver()
    with serve_in_thread(receiver.app, free_port()) as base_url:
        receiver.url = f"{base_url}/hooks"
        yield receiver


def test_webhooks_are_signed_and_cover_start_finish_and_audit(receiver):
    app = create_app(webhook_url=receiver.url, webhook_secret=WEBHOOK_SECRET, audit_delay_seconds=0.2)
    with (
        serve_in_thread(app, free_port()) as base_url,
        httpx.Client(base_url=base_url, auth=("acme-key", "x")) as http,
    ):
        sid = create_session(http)["session_id"]
        http.post(f"/s/{sid}/start", data={"attest": "1"})
        http.post(f"/s/{sid}/finish")
        # No one polls: the audit lands by the emulator's own timer and its webhook follows.
        wait_for(lambda: http.get("/emulator/stats").json()["webhooks_sent"] == 3)
        assert len(receiver.deliveries) == 3

    for headers, body in receiver.deliveries:
        verify(
            WEBHOOK_SECRET,
            headers[TIMESTAMP_HEADER.lower()],
            headers[SIGNATURE_HEADER.lower()],
            body,
            now=time.time(),
        )
    events = receiver.events()
    assert [e.type for e in events] == ["session.started", "session.finished", "audit.completed"]
    assert {e.session_id for e in events} == {sid}
    assert {e.external_id for e in events} == {"att-1"}
    assert events[2].outcome == "clean"
    assert len({e.event_id for e in events}) == 3


def test_a_slow_webhook_holds_up_its_own_sessions_events_only(receiver):
    app = create_app(webhook_url=receiver.url, webhook_secret=WEBHOOK_SECRET)
    with (
        serve_in_thread(app, free_port()) as base_url,
        httpx.Client(base_url=base_url, auth=("acme-key", "x")) as http,
    ):
        slow = create_session(http, external_id="att-slow")["session_id"]
        quick = create_session(http, external_id="att-quick")["session_id"]
        receiver.slow_for[slow] = 1.0
        control(http, slow, "start")
        control(http, slow, "finish")
        control(http, quick, "start")
        wait_for(lambda: len(receiver.deliveries) == 3)

    arrived = [(e.session_id, e.type) for e in receiver.events()]
    assert arrived == [(quick, "session.started"), (slow, "session.started"), (slow, "session.finished")]


def test_send_webhooks_false_withholds_them(receiver):
    app = create_app(webhook_url=receiver.url, webhook_secret=WEBHOOK_SECRET)
    with (
        serve_in_thread(app, free_port()) as base_url,
        httpx.Client(base_url=base_url, auth=("acme-key", "x")) as http,
    ):
        put_faults(http, send_webhooks=False)
        sid = create_session(http)["session_id"]
        control(http, sid, "start")
        control(http, sid, "finish")
        time.sleep(0.3)
        assert receiver.deliveries == []
        put_faults(http, send_webhooks=True)
        control(http, sid, "audit", outcome="clean")
        wait_for(lambda: len(receiver.deliveries) == 1)


def test_undeliverable_webhooks_are_counted_not_fatal():
    app = create_app(webhook_url=f"http://127.0.0.1:{free_port()}/hooks")
    with (
        serve_in_thread(app, free_port()) as base_url,
        httpx.Client(base_url=base_url, auth=("acme-key", "x")) as http,
    ):
        sid = create_session(http)["session_id"]
        assert control(http, sid, "start").status_code == 200
        wait_for(lambda: http.get("/emulator/stats").json()["webhooks_failed"] == 1)
        assert read(http, sid)["status"] == "started"
