"""Serve an ASGI app on a real port from a background thread, for tests that speak real HTTP."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

HOST = "127.0.0.1"
STARTUP_TIMEOUT_SECONDS = 10.0
SHUTDOWN_TIMEOUT_SECONDS = 10.0
# In-flight requests (e.g. a hanging "timeout" fault) get this long before being cancelled.
GRACEFUL_SHUTDOWN_SECONDS = 3


def free_port() -> int:
    """A port that was free a moment ago (the OS picks it; a race with other binders is rare)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


@contextmanager
def serve_in_thread(app, port: int) -> Iterator[str]:
    """Run `app` with uvicorn on 127.0.0.1:`port`; yield its base URL; stop it on exit."""
    config = uvicorn.Config(
        app,
        host=HOST,
        port=port,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    try:
        _wait_until_accepting(server, thread, port)
        yield f"http://{HOST}:{port}"
    finally:
        server.should_exit = True
        thread.join(SHUTDOWN_TIMEOUT_SECONDS)


def _wait_until_accepting(server: uvicorn.Server, thread: threading.Thread, port: int) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if not thread.is_alive():
            raise RuntimeError(f"the server on port {port} stopped during startup")
        if server.started and _accepts_connections(port):
            return
        time.sleep(0.02)
    raise RuntimeError(f"the server on port {port} did not start within {STARTUP_TIMEOUT_SECONDS}s")


def _accepts_connections(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=0.5):
            return True
    except OSError:
        return False
