"""Child processes for dev mode: each in its own process group, its output prefixed with its
name, stopped with SIGTERM and, after a grace period, SIGKILL."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time

log = logging.getLogger("proctorflow.dev")

HOST = "127.0.0.1"


class Child:
    _print_lock = threading.Lock()

    def __init__(self, name: str, command: list[str], env: dict[str, str]) -> None:
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
    so the worker and the web app never lose it while they shut down."""

    def __init__(self, apps_grace: float, infrastructure_grace: float) -> None:
        self.apps: list[Child] = []
        self.infrastructure: list[Child] = []
        self._graces = (apps_grace, infrastructure_grace)

    def start(self, name: str, command: list[str], env: dict[str, str], infrastructure: bool = False) -> None:
        (self.infrastructure if infrastructure else self.apps).append(Child(name, command, env))

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
