"""The system under load, each part its own process so its CPU and memory are its own: a fresh
Temporal dev server (temp database file, free port, search attributes registered), the
ProctorFree emulator, the worker and the web app. Their output goes to log files in the run's
folder, not to the screen; every wait is bounded."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from temporalio.client import Client

from cli.dev_layout import child_environment, temporal_binary
from cli.processes import HOST, port_open
from proctorflow.codec import new_key_spec
from proctorflow.settings import Settings
from proctorflow.temporal import connect, register_search_attributes
from store.migrate import upgrade
from tests.support.servers import free_port
from tests.support.settings import loopback_settings
from workflows.search_attributes import ALL as SEARCH_ATTRIBUTES

PROJECT_ROOT = Path(__file__).resolve().parents[1]
STARTUP_TIMEOUT = 60.0
STOP_GRACE = 10.0


class Process:
    """One child in its own process group, its output in `<log_dir>/<name>.log`."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self._log = self.log_path.open("w")
        self.popen = subprocess.Popen(
            command,
            env=env,
            cwd=PROJECT_ROOT,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            process_group=0,
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def rss_mb(self) -> float:
        return rss_mb(self.pid)

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.pid)

    def stop(self) -> None:
        self._signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout=STOP_GRACE)
        except subprocess.TimeoutExpired:
            self._signal(signal.SIGKILL)
            self.popen.wait()
        self._log.close()

    def _signal(self, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, sig)


def rss_mb(pid: int) -> float:
    """Resident memory from /proc/<pid>/status (VmRSS, in kB), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"process {pid} reports no VmRSS")


def cpu_seconds(pid: int) -> float:
    """User and system CPU time so far, from /proc/<pid>/stat (fields 14 and 15, in ticks)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def environment_for(settings: Settings, run_dir: Path) -> dict[str, str]:
    """Every setting as the PROCTORFLOW_* variable a child reads, and none of this shell's.

    Bytecode is cached (in the run's folder, not the source tree) even where the shell says
    PYTHONDONTWRITEBYTECODE: as in the Docker image, where pip compiles it at install. Without
    it the worker compiles the workflow's source again for every workflow it starts."""
    env = child_environment(settings)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(run_dir / "pycache")
    return env


@dataclass
class System:
    settings: Settings
    client: Client
    run_dir: Path
    temporal: Process
    emulator: Process
    worker: Process
    web: Process
    env: dict[str, str]
    extra: list[Process] = field(default_factory=list)

    @property
    def api_url(self) -> str:
        return f"{self.settings.public_url}/api/v1"

    @property
    def emulator_url(self) -> str:
        return self.settings.proctorfree_url

    def start_extra(self, name: str, command: list[str]) -> Process:
        """Another child (the ceiling's own worker), stopped with the rest."""
        process = Process(name, command, self.env, self.run_dir)
        self.extra.append(process)
        return process

    def processes(self) -> dict[str, Process]:
        return {p.name: p for p in (self.temporal, self.emulator, self.worker, self.web, *self.extra)}

    def check_alive(self) -> None:
        for process in (self.temporal, self.emulator, self.worker, self.web, *self.extra):
            if not process.alive():
                raise RuntimeError(
                    f"{process.name} died (exit {process.popen.poll()}): see {process.log_path}"
                )


def bench_settings(run_dir: Path) -> Settings:
    """Production clocks (webhooks bring the news, polls are the safety net), fresh secrets."""
    return loopback_settings(
        f"sqlite:///{run_dir / 'proctorflow.db'}",
        f"{HOST}:{free_port()}",
        "bench-attempts",
        new_key_spec("bench-1"),
    )


@asynccontextmanager
async def running_system(run_dir: Path) -> AsyncIterator[System]:
    run_dir.mkdir(parents=True, exist_ok=True)
    settings = bench_settings(run_dir)
    env = environment_for(settings, run_dir)
    await asyncio.to_thread(upgrade, settings.database_url)
    started: list[Process] = []

    def start(name: str, command: list[str]) -> Process:
        process = Process(name, command, env, run_dir)
        started.append(process)
        return process

    system: System | None = None
    try:
        temporal = start("temporal", temporal_command(settings, run_dir))
        emulator = start("emulator", [sys.executable, "-m", "bench.vendor_process"])  # needs no Temporal
        client = await _connect_when_up(settings, temporal)
        await register_search_attributes(client, SEARCH_ATTRIBUTES, settings.temporal_namespace)
        web = start("web", web_command(settings))
        worker = start("worker", [sys.executable, "-m", "cli", "worker"])
        await _wait_for_http(f"{settings.public_url}/healthz", web)
        await _wait_for_http(f"{settings.proctorfree_url}/emulator/stats", emulator)
        system = System(settings, client, run_dir, temporal, emulator, worker, web, env)
        yield system
    except BaseException:
        _show_log_tails([*started, *(system.extra if system else [])])
        raise
    finally:
        # The Temporal server stops last, so the worker never loses it while shutting down.
        extra = system.extra if system else []
        for process in reversed([*started[1:], *extra]):
            process.stop()
        if started:
            started[0].stop()


def _show_log_tails(processes: list[Process], lines: int = 15) -> None:
    """What each part said last: the run's folder is deleted on the way out."""
    for process in processes:
        tail = process.log_path.read_text(errors="replace").splitlines()[-lines:]
        if tail:
            print(f"--- {process.name} (last {len(tail)} lines) ---", *tail, sep="\n", file=sys.stderr)


def temporal_command(settings: Settings, run_dir: Path) -> list[str]:
    host, port = (settings.temporal_address or "").rsplit(":", 1)
    return [
        temporal_binary(),
        *("server", "start-dev", "--headless", "--ip", host, "--port", port),
        *("--db-filename", str(run_dir / "temporal.db"), "--log-level", "error"),
    ]


def web_command(settings: Settings) -> list[str]:
    """The web app as `proctorflow web` runs it, without uvicorn's per-request access log."""
    return [
        *(sys.executable, "-m", "uvicorn", "web.app:create_app", "--factory"),
        *("--host", HOST, "--port", str(settings.http_port), "--no-access-log", "--log-level", "warning"),
    ]


async def temporal_version() -> str:
    process = await asyncio.create_subprocess_exec(
        temporal_binary(), "--version", stdout=asyncio.subprocess.PIPE
    )
    out, _ = await asyncio.wait_for(process.communicate(), timeout=10)
    return out.decode().strip()


async def _connect_when_up(settings: Settings, temporal: Process) -> Client:
    port = int((settings.temporal_address or "").rsplit(":", 1)[1])
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if not temporal.alive():
            raise RuntimeError(f"the Temporal dev server died at start: see {temporal.log_path}")
        if port_open(port):
            with contextlib.suppress(RuntimeError):  # "failed client connect": not ready yet
                return await connect(settings)
        await asyncio.sleep(0.2)
    raise RuntimeError(f"the Temporal dev server did not answer within {STARTUP_TIMEOUT:.0f}s")


async def _wait_for_http(url: str, process: Process) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    async with httpx.AsyncClient(timeout=1.0) as http:
        while time.monotonic() < deadline:
            if not process.alive():
                raise RuntimeError(f"{process.name} died at start: see {process.log_path}")
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get(url)).status_code == 200:
                    return
            await asyncio.sleep(0.2)
    raise RuntimeError(f"{process.name} did not answer {url} within {STARTUP_TIMEOUT:.0f}s")
