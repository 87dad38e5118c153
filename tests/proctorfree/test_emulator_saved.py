"""The emulator with its sessions in a file, as dev mode runs it: a restarted emulator still
knows every session, its learner can still start and finish, and the audit it was waiting for
still comes, by webhook. Without a file (the default, as in every other test) it keeps nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from proctorfree.emulator import app as emulator_app
from proctorfree.emulator import create_app
from proctorfree.emulator.saved import SavedSessionsError
from tests.proctorfree.test_emulator import WebhookReceiver, create_session, read, wait_for
from tests.support.servers import free_port, serve_in_thread


@contextmanager
def emulator(**options) -> Iterator[httpx.Client]:
    with (
        serve_in_thread(create_app(**options), free_port()) as base_url,
        httpx.Client(base_url=base_url, auth=("acme-key", "acme-secret"), timeout=10) as http,
    ):
        yield http


def control(http: httpx.Client, session_id: str, step: str, **body) -> dict:
    response = http.post(f"/emulator/sessions/{session_id}/{step}", json=body or None)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def sessions_file(tmp_path: Path) -> Path:
    return tmp_path / "emulator-sessions.json"


def test_a_restarted_emulator_knows_its_sessions_and_their_learners_go_on(sessions_file: Path) -> None:
    with emulator(sessions_file=sessions_file) as http:
        opened = create_session(http, external_id="att-started")
        control(http, opened["session_id"], "start")
        waiting = create_session(http, external_id="att-created", method="record_only")
    sid = opened["session_id"]
    assert {s["session_id"] for s in json.loads(sessions_file.read_text())["sessions"]} == {
        sid,
        waiting["session_id"],
    }

    with emulator(sessions_file=sessions_file) as http:
        again = read(http, sid)
        assert again["status"] == "started" and again["started_at"] == read(http, sid)["started_at"]
        assert again["external_id"] == "att-started" and again["method"] == "full"
        assert http.get(f"/s/{sid}/window").status_code == 200  # the learner's ProctorFree window
        # Creating again for the same attempt answers the same session, as before the restart.
        same = http.post(
            "/api/v1/sessions",
            json={
                "external_id": "att-started",
                "exam_name": "Final exam",
                "learner": {"name": "Ada Lovelace", "email": "ada@example.com"},
                "method": "full",
            },
        )
        assert same.status_code == 200 and same.json()["session_id"] == sid
        control(http, waiting["session_id"], "start")
        assert control(http, sid, "finish")["status"] == "finished"
        assert control(http, sid, "audit", outcome="flagged")["audit_outcome"] == "flagged"

    with emulator(sessions_file=sessions_file) as http:
        assert read(http, sid)["audit_outcome"] == "flagged"
        assert read(http, waiting["session_id"])["status"] == "started"


def test_an_audit_that_fell_due_while_the_emulator_was_down_still_comes_by_webhook(
    sessions_file: Path, monkeypatch
) -> None:
    with emulator(sessions_file=sessions_file, audit_delay_seconds=3600) as http:
        sid = create_session(http)["session_id"]
        control(http, sid, "start")
        control(http, sid, "finish")

    monkeypatch.setattr(emulator_app, "RESUMED_TIMER_GRACE_SECONDS", 0.0)
    receiver = WebhookReceiver()
    with serve_in_thread(receiver.app, free_port()) as hooks:  # noqa: SIM117 (one after the other)
        with emulator(sessions_file=sessions_file, audit_delay_seconds=0.5, webhook_url=f"{hooks}/hooks"):
            # Nobody reads the session: the restarted emulator's own timer completes the audit.
            wait_for(lambda: [e.type for e in receiver.events()] == ["audit.completed"], timeout=30)
    (event,) = receiver.events()
    assert event.session_id == sid and event.outcome == "clean"
    assert json.loads(sessions_file.read_text())["sessions"][0]["audit_status"] == "complete"


def test_a_reset_forgets_the_saved_sessions_too(sessions_file: Path) -> None:
    with emulator(sessions_file=sessions_file) as http:
        sid = create_session(http)["session_id"]
        http.post("/emulator/reset").raise_for_status()
    with emulator(sessions_file=sessions_file) as http:
        assert http.get(f"/api/v1/sessions/{sid}").status_code == 404


def test_by_default_the_sessions_live_in_memory_only(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    with emulator() as http:
        sid = create_session(http)["session_id"]
    with emulator() as http:
        assert http.get(f"/api/v1/sessions/{sid}").status_code == 404
    assert list(tmp_path.iterdir()) == []


def test_a_file_that_is_not_the_emulators_sessions_is_refused_at_start(sessions_file: Path) -> None:
    sessions_file.write_text("{half a file")
    with pytest.raises(SavedSessionsError, match="move it away to start afresh"):
        create_app(sessions_file=sessions_file)
