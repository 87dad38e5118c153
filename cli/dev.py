"""`proctorflow dev`: the whole system on one machine, from one command.

Starts the Temporal dev server (its state in `<data-dir>/temporal.db`), migrates the SQLite
database, seeds the demo, then runs the worker, the web app, the ProctorFree emulator and the
demo LMS (a separate app, a client of the API with its own token) as child processes, prints
where everything is, and supervises: when a child dies everything stops; Ctrl-C, SIGTERM or SIGHUP
(a closed terminal) stops the children first and the Temporal server last. A second run resumes
where the first stopped.

Killed hard (SIGKILL), it cannot stop them itself: on Linux the children get SIGTERM from the
kernel as it dies, and the next run stops whatever a previous one left running, from the pids it
noted under the data folder (`cli.leftovers`).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from temporalio.service import RPCError

from cli.common import UsageError, temporal_client
from cli.dev_layout import (
    DevError,
    DevOptions,
    app_commands,
    child_environment,
    demo_lms_command,
    demo_lms_environment,
    dev_settings,
    mail_sink_command,
    temporal_command,
)
from cli.leftovers import RunFile
from cli.processes import HOST, Children, port_free, port_open
from cli.seed import DemoSeed, seed_demo
from proctorflow.crypto import SecretBox
from proctorflow.settings import Settings
from proctorflow.temporal import register_search_attributes
from store.db import make_engine, session_factory
from store.migrate import upgrade
from workflows.search_attributes import ALL as SEARCH_ATTRIBUTES

log = logging.getLogger("proctorflow.dev")

STARTUP_TIMEOUT = 60.0
APPS_GRACE = 15.0  # the worker finishes the activities in hand; uvicorn closes its connections
TEMPORAL_GRACE = 10.0


def run_dev(options: DevOptions) -> int:
    """Runs until Ctrl-C/SIGTERM (exit 0) or until a part fails (exit 1)."""
    stop = _stop_on_signals()
    run_file = RunFile(options.data_dir.resolve(), APPS_GRACE, TEMPORAL_GRACE)
    children = Children(APPS_GRACE, TEMPORAL_GRACE, on_start=run_file.add)
    try:
        run_file.take_over()  # what a run killed hard left running is stopped first
        _refuse_busy_ports(options)
        settings = dev_settings(options)
        children.start(
            "temporal", temporal_command(options, settings), child_environment(settings), infrastructure=True
        )
        if not _wait_until(lambda: _temporal_ready(options, settings), "Temporal", children, stop):
            return 0
        seed = prepare_database(settings, options.data_dir)
        for name, command in app_commands(options):
            children.start(name, command, child_environment(settings))
        mail_sink = mail_sink_command(options)
        if mail_sink is None:
            log.warning("no local SMTP sink: aiosmtpd is not installed (make dev installs it); e-mail waits")
        else:
            children.start("mail", mail_sink, child_environment(settings))
        demo_lms = demo_lms_command()
        if demo_lms is None:
            log.warning("no demo LMS: it runs from ProctorFlow's source tree only (demo_lms/)")
        else:
            children.start("demo-lms", demo_lms, demo_lms_environment(settings, options, seed.demo_lms_token))
        apps = "the web app, the emulator, the mail sink or the demo LMS"

        def answering() -> bool:
            return _apps_answer(options, demo_lms is not None, mail_sink is not None)

        if not _wait_until(answering, apps, children, stop):
            return 0
        print(banner(options, settings, seed), flush=True)
        return _supervise(children, stop)
    except DevError as exc:
        log.error("%s", exc)
        return 1
    finally:
        children.stop_all()
        run_file.release()


def prepare_database(settings: Settings, data_dir: Path) -> DemoSeed:
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        box = SecretBox(settings.secret_key or "")
        seed = seed_demo(session_factory(engine), box, settings.lms_token, data_dir.resolve())
    finally:
        engine.dispose()
    log.info("database ready; demo %s", ", ".join(seed.created) or "already seeded")
    return seed


# --- Waiting and supervising ----------------------------------------------------------------


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda *_: stop.set())
    return stop


def _wait_until(ready: Callable[[], bool], what: str, children: Children, stop: threading.Event) -> bool:
    """True once `ready()`; False when asked to stop first; DevError when a part dies or hangs."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while not ready():
        if stop.is_set():
            return False
        _refuse_dead(children, " while starting")
        if time.monotonic() > deadline:
            raise DevError(f"{what} did not answer within {STARTUP_TIMEOUT:.0f}s")
        stop.wait(0.2)
    return not stop.is_set()


def _supervise(children: Children, stop: threading.Event) -> int:
    while not stop.wait(0.25):
        _refuse_dead(children, "")
    log.info("stopping everything")
    return 0


def _refuse_dead(children: Children, when: str) -> None:
    dead = children.first_dead()
    if dead is not None:
        raise DevError(f"{dead.name} {dead.how_it_ended()}{when} (its output is above): stopping everything")


def _refuse_busy_ports(options: DevOptions) -> None:
    ports = {
        "--http-port": options.http_port,
        "--emulator-port": options.emulator_port,
        "--temporal-port": options.temporal_port,
        "--ui-port": options.ui_port,
        "--demo-lms-port": options.demo_lms_port,
        "--smtp-port": options.smtp_port,
        "--mail-port": options.mail_port,
    }
    for flag, port in ports.items():
        if not port_free(port):
            raise DevError(f"port {port} is in use: stop what listens there, or choose another with {flag}")


def _temporal_ready(options: DevOptions, settings: Settings) -> bool:
    """Answering, with ProctorFlow's search attributes registered (idempotent)."""
    if not (port_open(options.temporal_port) and port_open(options.ui_port)):
        return False

    async def prepare() -> None:
        client = await temporal_client(settings)
        await register_search_attributes(client, SEARCH_ATTRIBUTES, settings.temporal_namespace)

    try:
        asyncio.run(prepare())
    except UsageError:  # cannot reach it: not up yet
        return False
    except RPCError as error:
        raise DevError(f"Temporal refused ProctorFlow's search attributes: {error}") from None
    return True


def _apps_answer(options: DevOptions, with_demo_lms: bool, with_mail: bool = False) -> bool:
    probes = [f"{options.web_url}/healthz", f"{options.emulator_url}/emulator/stats"]
    if with_mail:
        probes.append(f"{options.mail_url}/healthz")
    if with_demo_lms:  # it answers once it has registered with the web app's API
        probes.append(f"{options.demo_lms_url}/healthz")
    try:
        return all(httpx.get(url, timeout=1.0).status_code == 200 for url in probes)
    except httpx.HTTPError:
        return False


# --- What the developer reads ---------------------------------------------------------------


def banner(options: DevOptions, settings: Settings, seed: DemoSeed) -> str:
    web = options.web_url
    rule = "=" * 78
    rows = [
        ("LMS API", f"{web}/api/v1"),
        ("  token", f"Authorization: Bearer {settings.lms_token}"),
        ("API docs", f"{web}/docs"),
        ("Demo LMS", f"{options.demo_lms_url}/  (the learner's side: pick a learner, open the Final exam)"),
        ("Reviewer UI", f"{web}/review/login"),
        ("  login", f"{seed.reviewer_username} / {seed.reviewer_password}"),
        ("ProctorFree", f"{options.emulator_url}  (emulator; audits {options.audit_delay:g}s after FINISH)"),
        ("Temporal UI", f"http://{HOST}:{options.ui_port}"),
        ("E-mail sent", f"{options.mail_url}/  (local SMTP sink at {HOST}:{options.smtp_port})"),
        ("Temporal", f"{settings.temporal_address}  (gRPC, namespace {settings.temporal_namespace})"),
        (
            "Ops CLI",
            f"(from this folder) PROCTORFLOW_TEMPORAL_ADDRESS={settings.temporal_address} proctorflow stuck",
        ),
        ("Demo course", f'{seed.course_id} "{seed.course_title}" (organisation {seed.org_id})'),
        *[("  lesson", lesson) for lesson in seed.lessons],
        ("Data", f"{options.data_dir.resolve()}"),
    ]
    lines = [rule, " ProctorFlow is running in dev mode. Ctrl-C stops everything.", ""]
    lines += [f" {label:<14}{value}" for label, value in rows]
    return "\n".join([*lines, rule])
