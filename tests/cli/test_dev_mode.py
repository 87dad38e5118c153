"""`proctorflow dev` as a developer runs it: a real process in a fresh folder, with the real
Temporal dev server, worker, web app, emulator and demo LMS as its children, stopped with Ctrl-C,
then started again in the same folder."""

from __future__ import annotations

import contextlib
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.support.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "dev-mode-test-token"
READY_LINE = "ProctorFlow is running in dev mode"
STARTUP_SECONDS = 120
STOP_SECONDS = 30
FINAL_EXAM = {
    "course_id": "course-demo",
    "lesson_id": "final-exam",
    "learner": {"id": "learner-1", "name": "Ada Lovelace", "email": "ada@example.com"},
    "attempt_number": 1,
}


@dataclass
class DevRun:
    """One `proctorflow dev` process, its output collected line by line."""

    folder: Path
    ports: dict[str, int]
    lines: list[str] = field(default_factory=list)
    args: tuple[str, ...] = ()  # more of `proctorflow dev`'s options

    def __post_init__(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PROCTORFLOW_")}
        env.update(PROCTORFLOW_LMS_TOKEN=TOKEN, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
        flags = [f"--{name}-port={port}" for name, port in self.ports.items()]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "cli", "dev", *flags, *self.args],
            cwd=self.folder,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._incoming: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))
            self._incoming.put(line)
        self._incoming.put(None)

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_until_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            with contextlib.suppress(queue.Empty):
                line = self._incoming.get(timeout=1)
                if line is None:
                    pytest.fail(f"proctorflow dev exited while starting:\n{self.output}")
                if READY_LINE in line:
                    self._incoming.get(timeout=5)  # the banner follows the headline
                    time.sleep(0.2)
                    return
        pytest.fail(f"proctorflow dev did not get ready in {STARTUP_SECONDS}s:\n{self.output}")

    def child_pids(self) -> dict[str, int]:
        found = (re.search(r"started ([\w-]+) \(pid (\d+)\)", line) for line in self.lines)
        return {match[1]: int(match[2]) for match in found if match}

    def interrupt(self) -> tuple[int | None, float]:
        """Ctrl-C; the exit code (None when it did not exit in time) and how long it took."""
        started = time.monotonic()
        self.process.send_signal(signal.SIGINT)
        try:
            code = self.process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            code = None
        return code, time.monotonic() - started

    def kill_leftovers(self) -> None:
        """Only for a failed test: leave no process behind for the next one."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        for pid in self.child_pids().values():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)


@dataclass
class FirstRun:
    run: DevRun
    healthz: httpx.Response
    opened: httpx.Response
    attempt: dict
    started_attempt: dict
    ui: httpx.Response
    ui_settings: dict
    codec_for_ui: httpx.Response
    demo_lms_pages: dict[str, httpx.Response]
    organisation: dict
    event_endpoint: dict
    exit_code: int | None
    stop_seconds: float


def fresh_ports() -> dict[str, int]:
    return {name: free_port() for name in ("http", "emulator", "temporal", "ui", "demo-lms", "smtp", "mail")}


def api(ports: dict[str, int]) -> httpx.Client:
    return httpx.Client(
        base_url=f"http://127.0.0.1:{ports['http']}/api/v1",
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=30,
    )


def wait_for_attempt(client: httpx.Client, attempt_id: str, predicate, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    body: dict = {}
    while time.monotonic() < deadline:
        response = client.get(f"/attempts/{attempt_id}")
        if response.status_code == 200:
            body = response.json()
            if predicate(body):
                return body
        time.sleep(0.3)
    raise AssertionError(f"attempt {attempt_id} never got there; last seen: {body}")


def visit_the_demo_lms(port: int) -> dict[str, httpx.Response]:
    """As a learner would: pick a demo learner, see the course, open the proctored Final exam."""
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as browser:
        pages = {"home before picking": browser.get("/")}
        pages["pick"] = browser.post("/who", data={"learner_id": "learner-grace", "next": "/"})
        pages["home"] = browser.get("/")
        pages["course"] = browser.get("/courses/course-demo")
        pages["lesson"] = browser.get("/courses/course-demo/lessons/final-exam")
    return pages


def listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture(scope="module")
def data_folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("dev-mode")


@pytest.fixture(scope="module")
def first_run(data_folder: Path):
    """Start dev mode, use it as the LMS and the learner would, then press Ctrl-C."""
    run = DevRun(data_folder, fresh_ports())
    try:
        run.wait_until_ready()
        with api(run.ports) as client:
            healthz = httpx.get(f"http://127.0.0.1:{run.ports['http']}/healthz", timeout=10)
            opened = client.post("/attempts/open", json=FINAL_EXAM)
            attempt_id = opened.json().get("attempt_id", "missing")
            attempt = wait_for_attempt(client, attempt_id, lambda a: a["vendor_session_id"] is not None)
            # The learner starts the session in ProctorFree: its signed webhook reaches the web app.
            emulator = f"http://127.0.0.1:{run.ports['emulator']}"
            httpx.post(f"{emulator}/emulator/sessions/{attempt['vendor_session_id']}/start", timeout=10)
            started = wait_for_attempt(client, attempt_id, lambda a: a["status"] == "in_progress")
            organisation = client.get("/organisation").json()
            event_endpoint = client.get("/event-endpoint").json()
        demo_lms_pages = visit_the_demo_lms(run.ports["demo-lms"])
        ui_url = f"http://127.0.0.1:{run.ports['ui']}"
        ui = httpx.get(f"{ui_url}/", timeout=10, follow_redirects=True)
        ui_settings = httpx.get(f"{ui_url}/api/v1/settings", timeout=10).json()
        codec_for_ui = httpx.post(
            f"http://127.0.0.1:{run.ports['http']}/codec/encode",
            headers={"Origin": ui_url},
            json={"payloads": [{"metadata": {"encoding": "anNvbi9wbGFpbg=="}, "data": "e30="}]},
            timeout=10,
        )
        exit_code, stop_seconds = run.interrupt()
        yield FirstRun(
            run,
            healthz,
            opened,
            attempt,
            started,
            ui,
            ui_settings,
            codec_for_ui,
            demo_lms_pages,
            organisation,
            event_endpoint,
            exit_code,
            stop_seconds,
        )
    finally:
        run.kill_leftovers()


def test_dev_mode_prints_every_url_and_credential(first_run: FirstRun) -> None:
    output, ports = first_run.run.output, first_run.run.ports
    web = f"http://127.0.0.1:{ports['http']}"
    password = (first_run.run.folder / ".data" / "demo-reviewer-password").read_text().strip()
    for expected in (
        f"{web}/api/v1",
        f"Bearer {TOKEN}",
        f"{web}/docs",
        f"http://127.0.0.1:{ports['demo-lms']}/",
        f"{web}/review/login",
        f"reviewer / {password}",
        f"http://127.0.0.1:{ports['emulator']}",
        f"http://127.0.0.1:{ports['ui']}",
        f"http://127.0.0.1:{ports['mail']}/  (local SMTP sink at 127.0.0.1:{ports['smtp']})",
        "course-demo",
    ):
        assert expected in output, f"{expected!r} is not printed:\n{output}"
    assert first_run.healthz.status_code == 200


def test_the_lms_opens_a_proctored_attempt_on_the_demo_final_exam(first_run: FirstRun) -> None:
    assert first_run.opened.status_code == 200, first_run.opened.text
    body = first_run.opened.json()
    assert body["lesson_title"] == "Final exam"
    assert body["method"] == "full"
    # The worker created the vendor session; the emulator's webhook moved the attempt on.
    assert first_run.attempt["vendor_session_id"]
    emulator = f"http://127.0.0.1:{first_run.run.ports['emulator']}"
    assert first_run.attempt["setup_url"] == f"{emulator}/s/{first_run.attempt['vendor_session_id']}/setup"
    assert first_run.started_attempt["status"] == "in_progress"


def test_the_demo_lms_is_its_own_process_and_registered_itself_through_the_api(first_run: FirstRun) -> None:
    demo_lms = f"http://127.0.0.1:{first_run.run.ports['demo-lms']}"
    pages = first_run.demo_lms_pages
    assert pages["home before picking"].status_code == 303  # pick a learner first
    assert pages["pick"].status_code == 303
    assert pages["home"].status_code == 200 and "Certified Widget Engineer" in pages["home"].text
    assert pages["course"].status_code == 200 and "Final exam" in pages["course"].text
    assert pages["lesson"].status_code == 200 and "Grace Hopper, attempt 1" in pages["lesson"].text
    assert first_run.organisation["lms_return_url"] == f"{demo_lms}/attempts/{{attempt_id}}/quiz"
    assert first_run.event_endpoint["url"] == f"{demo_lms}/events"


def test_the_temporal_web_ui_answers_and_reads_payloads_through_the_web_apps_codec(
    first_run: FirstRun,
) -> None:
    assert first_run.ui.status_code == 200
    web = f"http://127.0.0.1:{first_run.run.ports['http']}"
    assert first_run.ui_settings["Codec"]["Endpoint"] == f"{web}/codec"
    assert first_run.codec_for_ui.status_code == 200, first_run.codec_for_ui.text


def test_ctrl_c_stops_every_part_and_exits_0(first_run: FirstRun) -> None:
    assert first_run.exit_code == 0, first_run.run.output
    assert first_run.stop_seconds < STOP_SECONDS
    pids = first_run.run.child_pids()
    assert set(pids) == {"temporal", "worker", "web", "emulator", "demo-lms", "mail"}
    assert [name for name, pid in pids.items() if alive(pid)] == []
    assert [name for name, port in first_run.run.ports.items() if listening(port)] == []


def test_a_second_run_in_the_same_folder_resumes_where_the_first_stopped(
    first_run: FirstRun, data_folder: Path
) -> None:
    attempt_id = first_run.attempt["attempt_id"]
    run = DevRun(data_folder, fresh_ports())
    try:
        run.wait_until_ready()
        with api(run.ports) as client:
            reply = client.get(f"/attempts/{attempt_id}")
            reopened = client.post("/attempts/open", json=FINAL_EXAM)
        exit_code, _ = run.interrupt()
    finally:
        run.kill_leftovers()
    assert reply.status_code == 200, reply.text
    assert reply.json()["vendor_session_id"] == first_run.attempt["vendor_session_id"]
    assert reply.json()["status"] == "in_progress"
    assert reopened.json()["attempt_id"] == attempt_id  # the same attempt, not a new one
    assert "already seeded" in run.output  # the demo was not made twice
    assert exit_code == 0


def test_when_a_part_dies_dev_mode_names_it_and_stops_everything(tmp_path: Path) -> None:
    run = DevRun(tmp_path, fresh_ports())
    try:
        run.wait_until_ready()
        pids = run.child_pids()
        os.kill(pids["emulator"], signal.SIGKILL)
        exit_code = run.process.wait(timeout=STOP_SECONDS)
    finally:
        run.kill_leftovers()
    assert exit_code == 1
    assert "emulator was killed by SIGKILL (its output is above): stopping everything" in run.output
    assert [name for name, pid in pids.items() if alive(pid)] == []
    assert [name for name, port in run.ports.items() if listening(port)] == []
