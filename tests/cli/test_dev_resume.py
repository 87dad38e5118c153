"""`proctorflow dev` killed hard (SIGKILL: none of its shutdown code runs, as when the system
runs out of memory) while an attempt is in flight, then started again on the same data folder
and the same ports, as a developer would: it starts, and the attempt goes on to completion:
ProctorFree (the emulator, which keeps its sessions under the data folder) still knows the
session, the learner finishes, the audit comes, the reviewer passes it. Then its terminal is
closed (SIGHUP): it stops everything, as on Ctrl-C."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import httpx

from cli.leftovers import RUN_FILE, Running, note
from tests.cli.test_dev_mode import FINAL_EXAM, STOP_SECONDS, DevRun, api, fresh_ports, wait_for_attempt

AUDIT = ("--audit-delay", "2")
GONE_SECONDS = 60


def control(ports: dict[str, int], session_id: str, step: str) -> httpx.Response:
    """The emulator's control API: the learner's steps in ProctorFree."""
    url = f"http://127.0.0.1:{ports['emulator']}/emulator/sessions/{session_id}/{step}"
    return httpx.post(url, timeout=30)


def wait_until_gone(processes: list[Running]) -> list[str]:
    """The names of those still running after GONE_SECONDS."""
    deadline = time.monotonic() + GONE_SECONDS
    while any(p.still_running() for p in processes) and time.monotonic() < deadline:
        time.sleep(0.2)
    return [p.name for p in processes if p.still_running()]


def wait_for_mail(ports: dict[str, int], predicate, timeout: float = 60) -> list[dict]:
    """What dev mode's SMTP sink received, from its page, once `predicate` holds."""
    deadline = time.monotonic() + timeout
    got: list[dict] = []
    while time.monotonic() < deadline:
        got = httpx.get(f"http://127.0.0.1:{ports['mail']}/messages.json", timeout=10).json()
        if predicate(got):
            return got
        time.sleep(0.5)
    raise AssertionError(f"the mail sink never got there: {[m['subject'] for m in got]}")


def test_a_killed_dev_mode_starts_again_and_its_attempt_in_flight_completes(tmp_path: Path) -> None:
    ports = fresh_ports()
    data = tmp_path / ".data"
    first = DevRun(tmp_path, ports, args=AUDIT)
    second: DevRun | None = None
    try:
        first.wait_until_ready()
        with api(ports) as client:
            opened = client.post("/attempts/open", json=FINAL_EXAM)
            assert opened.status_code == 200, opened.text
            attempt_id = opened.json()["attempt_id"]
            created = wait_for_attempt(client, attempt_id, lambda a: a["vendor_session_id"] is not None)
            session_id = created["vendor_session_id"]
            assert control(ports, session_id, "start").status_code == 200  # the learner starts
            wait_for_attempt(client, attempt_id, lambda a: a["status"] == "in_progress")
        pids = first.child_pids()
        parts = [note(name, pid) for name, pid in pids.items()]
        assert None not in parts, f"a part of the first run is not running: {pids}"
        noted = json.loads((data / RUN_FILE).read_text())

        first.process.kill()
        first.process.wait()
        # Started again at once, while the first run's parts may still be shutting down.
        second = DevRun(tmp_path, ports, args=AUDIT)
        second.wait_until_ready()
        still_running = wait_until_gone([part for part in parts if part is not None])

        with api(ports) as client:
            resumed = client.get(f"/attempts/{attempt_id}").json()
            result = client.post(f"/attempts/{attempt_id}/exam-result", json={"score": 91, "passed": True})
            finished = control(ports, session_id, "finish")  # the learner presses FINISH
            ready = wait_for_attempt(
                client,
                attempt_id,
                lambda a: (a["review_task"] or {}).get("state") == "ready_for_review",
                timeout=120,
            )
            decision = client.post(
                f"/review-tasks/{ready['review_task']['id']}/decision",
                json={"decision": "pass", "reviewer": "rita@lms"},
            )
            done = wait_for_attempt(client, attempt_id, lambda a: a["status"] == "completed", timeout=120)
        # The demo e-mails the learner; dev mode's SMTP sink lists what it received on its page.
        mail = wait_for_mail(ports, lambda got: len(got) >= 2)
        # Its terminal closed (SIGHUP): it stops everything, as on Ctrl-C.
        second.process.send_signal(signal.SIGHUP)
        exit_code = second.process.wait(timeout=STOP_SECONDS)
        second_parts = [note(name, pid) for name, pid in second.child_pids().items()]
    finally:
        first.kill_leftovers()
        if second is not None:
            second.kill_leftovers()

    # The first run noted its parts under the data folder, as each started.
    assert noted["supervisor"]["pid"] == first.process.pid
    assert {part["name"]: part["pid"] for part in noted["parts"]} == pids
    assert set(pids) == {"temporal", "worker", "web", "emulator", "demo-lms", "mail"}
    # None of them outlived it for long, and the second run started on the same ports.
    assert still_running == [], second.output
    assert "is in use" not in second.output
    # The attempt went on where it was: ProctorFree still knew its session.
    assert resumed["status"] == "in_progress" and resumed["vendor_session_id"] == session_id
    assert result.status_code == 202, result.text
    assert finished.status_code == 200, finished.text
    assert decision.status_code == 200, decision.text
    events = [event["event"] for event in done["events"]]
    assert "parked" not in events, events
    assert events[-1] == "completed" and done["review_task"]["state"] == "passed", events
    session = next(
        s
        for s in json.loads((data / "emulator-sessions.json").read_text())["sessions"]
        if s["session_id"] == session_id
    )
    assert session["status"] == "finished" and session["audit_outcome"] == "clean"
    # Submitted, then passed: one e-mail each, to the learner, through the local SMTP sink.
    assert sorted(m["subject"] for m in mail) == [
        "We received your attempt: Final exam",
        "Your attempt at Final exam: passed",
    ]
    assert {m["to"] for m in mail} == {FINAL_EXAM["learner"]["email"]}
    # A run that ends as it should stops its parts and leaves no run file behind.
    assert exit_code == 0, second.output
    assert second_parts == [None] * 6, second.output
    assert not (data / RUN_FILE).exists()
