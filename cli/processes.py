"""Child processes for dev mode: each in its own process group, its output prefixed with its
name, stopped with SIGTERM and, after a grace period, SIGKILL. On Linux each also gets SIGTERM
when the process that started it dies, however it dies (SIGKILL, a closed terminal): the kernel's
parent-death signal (`prctl(PR_SET_PDEATHSIG)`)."""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable

log = logging.getLogger("proctorflow.dev")

HOST = "127.0.0.1"
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


class Child:
    """One part. With `die_with_parent` (Linux) it gets SIGTERM when the thread that started it
    ends: start children from a thread that lives as long as the supervisor (its main thread)."""

    _print_lock = threading.Lock()

    def __init__(
        self, name: str, command: list[str], env: dict[str, str], die_with_parent: bool = True
    ) -> None:
        self.name = name
        self.process = subprocess.Popen(
            command,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            process_group=0,  # Ctrl-C reaches the supervisor alone, which stops the parts in order
            preexec_fn=parent_death_signal() if die_with_parent else None,
        )
        self._relay = threading.Thread(target=self._relay_output, name=f"relay-{name}", daemon=True)
        self._relay.start()
        log.info("started %s (pid %d)", name, self.process.pid)

    def _relay_output(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self._print_lock:
                sys.stdout.write(f"{self.name:<8} | {line.rstrip()}\n")
                sys.stdout.flush()

    @property
    def pid(self) -> int:
        return self.process.pid

    def exit_code(self) -> int | None:
        return self.process.poll()

    def how_it_ended(self) -> str:
        code = self.exit_code()
        if code is not None and code < 0:
            return f"was killed by {signal.Signals(-code).name}"
        return f"exited with code {code}"

    def signal(self, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, sig)

    def finish_output(self) -> None:
        self._relay.join(timeout=2)


class Children:
    """The parts started so far. Infrastructure (the Temporal server) stops after the rest,
    so the worker and the web app never lose it while they shut down. `on_start(child,
    infrastructure)` hears of each part started (dev mode notes its pid under the data folder)."""

    def __init__(
        self,
        apps_grace: float,
        infrastructure_grace: float,
        on_start: Callable[[Child, bool], None] | None = None,
    ) -> None:
        self.apps: list[Child] = []
        self.infrastructure: list[Child] = []
        self._graces = (apps_grace, infrastructure_grace)
        self._on_start = on_start

    def start(self, name: str, command: list[str], env: dict[str, str], infrastructure: bool = False) -> None:
        child = Child(name, command, env)
        (self.infrastructure if infrastructure else self.apps).append(child)
        if self._on_start is not None:
            self._on_start(child, infrastructure)

    def first_dead(self) -> Child | None:
        everyone = self.infrastructure + self.apps
        return next((child for child in everyone if child.exit_code() is not None), None)

    def stop_all(self) -> None:
        apps_grace, infrastructure_grace = self._graces
        _stop_together(self.apps, apps_grace)
        _stop_together(self.infrastructure, infrastructure_grace)
        for child in self.infrastructure + self.apps:
            child.finish_output()
        self.apps, self.infrastructure = [], []


def _stop_together(children: list[Child], grace: float) -> None:
    for child in children:
        child.signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    for child in children:
        try:
            child.process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            log.warning("%s did not stop within %.0fs: killing it", child.name, grace)
            child.signal(signal.SIGKILL)
            child.process.wait()
        if child.exit_code() in (0, -signal.SIGTERM):  # uvicorn re-raises the SIGTERM it handled
            log.info("stopped %s", child.name)
        else:
            log.info("stopped %s (it %s)", child.name, child.how_it_ended())


def parent_death_signal() -> Callable[[], None] | None:
    """What a child runs between fork and exec so that it gets SIGTERM when its parent dies:
    Linux's PR_SET_PDEATHSIG. None elsewhere (there dev mode's run file is the only defence)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up here, before the fork
    except (OSError, AttributeError):
        return None
    parent, sigterm = os.getpid(), ctypes.c_ulong(signal.SIGTERM)

    def die_with_parent() -> None:
        prctl(PR_SET_PDEATHSIG, sigterm)
        if os.getppid() != parent:  # the parent died before the line above: no signal will come
            os._exit(1)

    return die_with_parent


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a closing socket is no conflict
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def port_open(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=0.5):
            return True
    except OSError:
        return False
