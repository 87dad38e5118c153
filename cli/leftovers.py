"""What a `proctorflow dev` killed hard (SIGKILL, a closed terminal) may leave running, and how
the next one on the same data folder stops it before it starts.

The supervisor keeps `<data-dir>/dev-processes.json`: its own pid and each part's, each with what
tells that process from a later one given the same pid (its start time, with the boot's id on
Linux, and its command line), written as each part starts and removed when the run ends. On
Linux the parts get SIGTERM when the supervisor dies anyway (`cli.processes`); the file is the
second line of defence, and the only one elsewhere. The next run reads it: while the supervisor
it names still runs, it refuses (one dev mode per folder); otherwise it stops the parts still
running, the apps before the Temporal server, and says so. A process whose start time or command
line differs from the file's is another process that got the pid: it is never signalled.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from cli.dev_layout import DevError
from cli.processes import Child

log = logging.getLogger("proctorflow.dev")

RUN_FILE = "dev-processes.json"
SUPERVISOR = "proctorflow dev"
KILL_WAIT = 5.0  # after SIGKILL, how long the kernel gets to end a process


@dataclass(frozen=True)
class Running:
    """A process as the run file remembers it."""

    name: str
    pid: int
    started: str  # when it started, as the system tells it
    command: str
    infrastructure: bool = False

    def still_running(self) -> bool:
        """The same process (same start time, same command line) is still there."""
        return identify(self.pid) == (self.started, self.command)


def identify(pid: int) -> tuple[str, str] | None:
    """(start time, command line) of a live process; None when there is none (or a zombie)."""
    if sys.platform.startswith("linux"):
        return _from_proc(pid)
    return _from_ps(pid)


def note(name: str, pid: int, infrastructure: bool = False) -> Running | None:
    found = identify(pid)
    if found is None:
        return None
    return Running(name, pid, found[0], found[1], infrastructure)


class RunFile:
    """The run file of one data folder. `take_over` first; `add` each part as it starts;
    `release` when the run ends (it removes the file only when this run wrote it)."""

    def __init__(self, data_dir: Path, apps_grace: float, infrastructure_grace: float) -> None:
        self.path = data_dir / RUN_FILE
        self._graces = (apps_grace, infrastructure_grace)
        self._supervisor: Running | None = None
        self._parts: list[Running] = []

    def take_over(self) -> None:
        """Stop what a previous run left running, then note this supervisor. DevError while the
        previous run's supervisor still runs, or when its parts cannot be stopped."""
        supervisor, parts = self._read()
        if supervisor is not None and supervisor.pid != os.getpid() and supervisor.still_running():
            raise DevError(
                f"another `proctorflow dev` (pid {supervisor.pid}) is running on {self.path.parent}: "
                "stop it first (Ctrl-C in its terminal), or use another --data-dir"
            )
        left = [part for part in parts if part.still_running()]
        if left:
            was = f" (pid {supervisor.pid})" if supervisor is not None else ""
            names = ", ".join(f"{part.name} (pid {part.pid})" for part in left)
            log.warning(
                "a previous `proctorflow dev`%s ended without stopping its parts: stopping %s", was, names
            )
            apps_grace, infrastructure_grace = self._graces
            stop_processes([part for part in left if not part.infrastructure], apps_grace)
            stop_processes([part for part in left if part.infrastructure], infrastructure_grace)
        self._supervisor = note(SUPERVISOR, os.getpid())
        self._parts = []
        self._write()

    def add(self, child: Child, infrastructure: bool) -> None:
        if self._supervisor is None:
            return
        part = note(child.name, child.pid, infrastructure)
        if part is not None:
            self._parts.append(part)
            self._write()

    def release(self) -> None:
        if self._supervisor is not None:
            self.path.unlink(missing_ok=True)
            self._supervisor = None

    def _read(self) -> tuple[Running | None, list[Running]]:
        try:
            saved = json.loads(self.path.read_text())
            supervisor = Running(**saved["supervisor"]) if saved.get("supervisor") else None
            return supervisor, [Running(**part) for part in saved.get("parts", [])]
        except FileNotFoundError:
            return None, []
        except (ValueError, TypeError, KeyError, AttributeError) as error:
            log.warning("ignoring %s, which cannot be read (%s)", self.path, error)
            return None, []

    def _write(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        body = {
            "supervisor": asdict(self._supervisor) if self._supervisor else None,
            "parts": [asdict(part) for part in self._parts],
        }
        temporary = self.path.with_name(self.path.name + ".tmp")
        temporary.write_text(json.dumps(body, indent=2) + "\n")
        os.replace(temporary, self.path)


def stop_processes(processes: list[Running], grace: float) -> None:
    """SIGTERM (to each one's process group when it leads one, as dev mode's parts do), then
    SIGKILL after `grace`; each one only while it is still the process the run file names."""
    for process in processes:
        _signal(process, signal.SIGTERM)
    if _wait_until(lambda: not any(p.still_running() for p in processes), grace):
        for process in processes:
            log.info("stopped %s (pid %d), left by a previous run", process.name, process.pid)
        return
    for process in processes:
        if process.still_running():
            log.warning("%s (pid %d) did not stop within %.0fs: killing it", process.name, process.pid, grace)
            _signal(process, signal.SIGKILL)
    if not _wait_until(lambda: not any(p.still_running() for p in processes), KILL_WAIT):
        alive = ", ".join(f"{p.name} (pid {p.pid})" for p in processes if p.still_running())
        raise DevError(f"a previous run's {alive} cannot be stopped: stop it yourself, then start again")


def _signal(process: Running, sig: signal.Signals) -> None:
    if not process.still_running():
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if os.getpgid(process.pid) == process.pid:
            os.killpg(process.pid, sig)
        else:
            os.kill(process.pid, sig)


def _wait_until(done: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not done():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def _from_proc(pid: int) -> tuple[str, str] | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:  # gone, or never there
        return None
    fields = stat.rpartition(")")[2].split()  # after the command's name, which may hold spaces
    if not fields or fields[0] in ("Z", "X"):  # ended, not yet reaped: nothing left to stop
        return None
    started = f"{_boot_id()}+{fields[19]}"  # clock ticks from boot to the process's start
    return started, " ".join(arg.decode(errors="replace") for arg in command.split(b"\0") if arg)


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return "?"


def _from_ps(pid: int) -> tuple[str, str] | None:
    """macOS and the BSDs: `ps` gives the state, the start time (five words) and the command."""
    try:
        found = subprocess.run(
            ["ps", "-p", str(pid), "-o", "stat=", "-o", "lstart=", "-o", "command="],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    words = found.stdout.strip().split(None, 6)
    if found.returncode != 0 or len(words) < 7 or words[0].startswith("Z"):
        return None
    return " ".join(words[1:6]), words[6]
