"""What a `proctorflow dev` killed hard leaves running: its parts die with it (Linux's parent-death
signal), and the next run stops, from the run file under the data folder, whatever is still
there, but never a process that merely got a recorded pid."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli.dev_layout import DevError
from cli.leftovers import RUN_FILE, RunFile, Running, identify, note

ROOT = Path(__file__).resolve().parents[2]
GRACE = 10.0
GONE_PID = 2**22 - 1
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")


@pytest.fixture
def spawned() -> Iterator[list[subprocess.Popen]]:
    """Processes a test starts, each leading its own process group as dev mode's parts do;
    whatever is left is killed at the end."""
    processes: list[subprocess.Popen] = []
    yield processes
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait()


def sleeper(spawned: list[subprocess.Popen], *, ignore_sigterm: bool = False) -> subprocess.Popen:
    code = "import signal, sys, time\n"
    if ignore_sigterm:
        code += "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    code += "print('ready', flush=True)\ntime.sleep(300)\n"
    process = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, process_group=0
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "ready"
    spawned.append(process)
    return process


def gone_supervisor() -> Running:
    """A supervisor that has ended (no process started then with that command runs now)."""
    return Running("proctorflow dev", GONE_PID, "long ago", "proctorflow dev")


def write_run_file(folder: Path, supervisor: Running | None, parts: list[Running]) -> None:
    body = {"supervisor": supervisor and vars(supervisor), "parts": [vars(part) for part in parts]}
    (folder / RUN_FILE).write_text(json.dumps(body))


def wait_for_exit(process: subprocess.Popen, seconds: float = 30) -> int:
    return process.wait(timeout=seconds)


def test_a_process_is_known_by_its_start_time_and_command_line(spawned) -> None:
    process = sleeper(spawned)
    found = identify(process.pid)
    assert found is not None
    started, command = found
    assert started and "time.sleep(300)" in command
    assert identify(process.pid) == found  # the same process reads the same every time
    assert identify(os.getpid()) != found


def test_an_ended_process_is_not_running_even_before_it_is_reaped(spawned) -> None:
    process = sleeper(spawned)
    recorded = note("worker", process.pid)
    assert recorded is not None and recorded.still_running()
    os.kill(process.pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while recorded.still_running() and time.monotonic() < deadline:  # a zombie until waited for
        time.sleep(0.05)
    assert not recorded.still_running()
    process.wait()
    assert identify(process.pid) is None


def test_the_run_file_notes_the_supervisor_and_is_removed_when_the_run_ends(tmp_path: Path) -> None:
    run_file = RunFile(tmp_path, GRACE, GRACE)
    run_file.take_over()
    saved = json.loads((tmp_path / RUN_FILE).read_text())
    assert saved["supervisor"]["pid"] == os.getpid() and saved["parts"] == []
    run_file.release()
    assert not (tmp_path / RUN_FILE).exists()


def test_the_next_run_stops_the_parts_a_killed_run_left_apps_first_and_says_so(
    tmp_path: Path, spawned, caplog
) -> None:
    worker, temporal = sleeper(spawned), sleeper(spawned)
    parts = [note("worker", worker.pid), note("temporal", temporal.pid, infrastructure=True)]
    write_run_file(tmp_path, gone_supervisor(), parts)

    with caplog.at_level(logging.INFO, logger="proctorflow.dev"):
        RunFile(tmp_path, GRACE, GRACE).take_over()

    assert wait_for_exit(worker) == -signal.SIGTERM
    assert wait_for_exit(temporal) == -signal.SIGTERM
    assert (
        f"a previous `proctorflow dev` (pid {GONE_PID}) ended without stopping its parts: "
        f"stopping worker (pid {worker.pid}), temporal (pid {temporal.pid})"
    ) in caplog.text
    assert f"stopped worker (pid {worker.pid}), left by a previous run" in caplog.text
    assert json.loads((tmp_path / RUN_FILE).read_text())["supervisor"]["pid"] == os.getpid()


def test_a_part_that_ignores_sigterm_is_killed_after_the_grace(tmp_path: Path, spawned, caplog) -> None:
    stubborn = sleeper(spawned, ignore_sigterm=True)
    write_run_file(tmp_path, gone_supervisor(), [note("web", stubborn.pid)])
    with caplog.at_level(logging.INFO, logger="proctorflow.dev"):
        RunFile(tmp_path, 1.0, 1.0).take_over()
    assert wait_for_exit(stubborn) == -signal.SIGKILL
    assert f"web (pid {stubborn.pid}) did not stop within 1s: killing it" in caplog.text


def test_a_reused_pid_is_never_signalled(tmp_path: Path, spawned) -> None:
    """The recorded pid now belongs to another process (another start time, or another command)."""
    bystander = sleeper(spawned)
    started, command = identify(bystander.pid) or ("", "")
    write_run_file(
        tmp_path,
        gone_supervisor(),
        [
            Running("worker", bystander.pid, "an earlier start", command),
            Running("web", bystander.pid, started, "python -m cli web"),
        ],
    )
    RunFile(tmp_path, GRACE, GRACE).take_over()
    time.sleep(0.5)
    assert bystander.poll() is None


def test_while_the_previous_supervisor_runs_the_next_run_refuses_and_leaves_its_file(
    tmp_path: Path, spawned
) -> None:
    supervisor, part = sleeper(spawned), sleeper(spawned)
    write_run_file(tmp_path, note("proctorflow dev", supervisor.pid), [note("worker", part.pid)])
    before = (tmp_path / RUN_FILE).read_text()

    run_file = RunFile(tmp_path, GRACE, GRACE)
    with pytest.raises(DevError, match=rf"another `proctorflow dev` \(pid {supervisor.pid}\) is running"):
        run_file.take_over()
    run_file.release()

    assert supervisor.poll() is None and part.poll() is None
    assert (tmp_path / RUN_FILE).read_text() == before


def test_an_unreadable_run_file_is_ignored(tmp_path: Path) -> None:
    (tmp_path / RUN_FILE).write_text("{not json")
    RunFile(tmp_path, GRACE, GRACE).take_over()
    assert json.loads((tmp_path / RUN_FILE).read_text())["supervisor"]["pid"] == os.getpid()


@linux_only
def test_a_part_gets_sigterm_when_its_supervisor_is_killed(spawned) -> None:
    """A supervisor starts a part as dev mode does (`cli.processes.Child`), then is SIGKILLed:
    the kernel sends the part SIGTERM."""
    supervisor_code = textwrap.dedent(
        """
        import sys, time
        from cli.processes import Child
        part = Child("part", [sys.executable, "-c", "import time; time.sleep(300)"], {})
        print(part.pid, flush=True)
        time.sleep(300)
        """
    )
    supervisor = subprocess.Popen(
        [sys.executable, "-c", supervisor_code],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        text=True,
    )
    spawned.append(supervisor)
    assert supervisor.stdout is not None
    part = note("part", int(supervisor.stdout.readline()))
    assert part is not None and part.still_running()

    supervisor.kill()
    supervisor.wait()

    deadline = time.monotonic() + 30
    while part.still_running() and time.monotonic() < deadline:
        time.sleep(0.1)
    if part.still_running():  # leave nothing behind
        os.killpg(part.pid, signal.SIGKILL)
        pytest.fail("the part outlived its supervisor")
