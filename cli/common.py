"""What every `proctorflow` command shares: its refusal, its settings, its Temporal client and
its database sessions. Each command reaches Temporal and the database through these alone, so
every one of them refuses the same way when PROCTORFLOW_TEMPORAL_ADDRESS is unset or the server
cannot be reached."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from temporalio.client import Client
from temporalio.runtime import Runtime

from proctorflow.production import secret_problems
from proctorflow.settings import Settings, get_settings
from proctorflow.temporal import connect
from store.db import SessionFactory, make_engine, session_factory

T = TypeVar("T")

DEFAULT_DATA_DIR = Path(".data")  # dev mode's data folder; `seed-demo` keeps its password there too


class UsageError(Exception):
    """A command cannot run as asked; the message says what to fix."""


NO_TEMPORAL = (
    "PROCTORFLOW_TEMPORAL_ADDRESS is not set: point it at a Temporal server (host:port), "
    "or run everything with `proctorflow dev`"
)
NO_PAYLOAD_KEYS = (
    "PROCTORFLOW_PAYLOAD_KEYS is not set: commands that signal or cancel attempts seal what they "
    "send with the workers' key ring; set it as the workers have it (for `proctorflow dev`: "
    "PROCTORFLOW_PAYLOAD_KEYS=$(cat .data/payload.keys))"
)


def settings_with_temporal() -> Settings:
    """The settings, refused when they name no Temporal server."""
    settings = get_settings()
    if not settings.temporal_address:
        raise UsageError(NO_TEMPORAL)
    return settings


def settings_to_serve() -> Settings:
    """The settings of a part that serves or works (the web app, a worker), refused, naming every
    problem at once, when they name no Temporal server or lack a real secret. Only the processes
    `proctorflow dev` starts (PROCTORFLOW_DEV_MODE) may use its dev defaults."""
    settings = get_settings()
    problems = ([] if settings.temporal_address else [NO_TEMPORAL]) + secret_problems(settings)
    if problems:
        raise UsageError(
            "refusing to start without real settings; fix each of these:\n"
            + "\n".join(f"  - {problem}" for problem in problems)
            + "\n(`proctorflow dev` runs everything on this machine with dev defaults)"
        )
    return settings


async def temporal_client(settings: Settings, runtime: Runtime | None = None, sealed: bool = True) -> Client:
    """A client of the settings' Temporal server, refused when it cannot be reached. Unsealed
    (`sealed=False`) only for work that sends and reads no payloads: it needs no key ring."""
    if sealed and not settings.payload_keys:
        raise UsageError(NO_PAYLOAD_KEYS)
    try:
        return await connect(settings, runtime=runtime, sealed=sealed)
    except RuntimeError as error:  # the SDK's "failed client connect"
        raise UsageError(f"cannot reach Temporal at {settings.temporal_address}: {error}") from None


def with_temporal(work: Callable[[Client], Awaitable[T]], sealed: bool = True) -> T:
    """Run `work` with a client of the Temporal server the settings name."""
    settings = settings_with_temporal()

    async def run() -> T:
        return await work(await temporal_client(settings, sealed=sealed))

    return asyncio.run(run())


@contextmanager
def database_sessions(settings: Settings | None = None) -> Iterator[SessionFactory]:
    """A session factory on a fresh engine, disposed of when the command is done."""
    engine = make_engine((settings or get_settings()).database_url)
    try:
        yield session_factory(engine)
    finally:
        engine.dispose()
