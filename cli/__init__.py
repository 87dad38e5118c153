"""`proctorflow`: run each part of the system (each can run on its own host), manage the
database and accounts, or run everything on one machine with `proctorflow dev`.

Settings come from the environment and `.env` (PROCTORFLOW_*). Refusals print what to fix and
exit with code 2.

Production is the default: `web` and `worker` start only with PROCTORFLOW_TEMPORAL_ADDRESS and
real secrets (PROCTORFLOW_LMS_TOKEN, _SECRET_KEY, _WEBHOOK_SECRET, _PAYLOAD_KEYS, _CODEC_TOKEN);
`dev` runs everything with dev defaults and keys it keeps under `.data/`. Commands that act on
or read workflows (check-now, resume, cancel, reconcile, act, extend, replay) need the Temporal
address and the payload key ring; `setup` the address only; migrate, create-org,
create-reviewer, events and stuck the database (stuck marks closed workflows when Temporal is
reachable). `emulator` and `seed-demo`
are dev and test tools and keep their dev defaults.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from sqlalchemy.exc import OperationalError, ProgrammingError

from cli.common import DEFAULT_DATA_DIR, UsageError, settings_to_serve, settings_with_temporal, with_temporal
from proctorflow.errors import Refused
from proctorflow.logs import configure_logging
from proctorflow.settings import get_settings

__all__ = ["UsageError", "build_parser", "main"]


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging()
    try:
        return args.run(args) or 0
    except (UsageError, Refused) as exc:
        print(f"proctorflow {args.command}: {exc}", file=sys.stderr)
        return 2
    except (OperationalError, ProgrammingError) as exc:
        # The driver's message alone: the statement's parameters may hold token digests or hashes.
        print(f"proctorflow {args.command}: database error: {exc.orig}", file=sys.stderr)
        print("is the schema there? run `proctorflow migrate` first", file=sys.stderr)
        return 1


def build_parser() -> argparse.ArgumentParser:
    from cli.accounts import add_account_commands
    from cli.events import add_event_commands
    from cli.notices import add_notice_commands
    from cli.ops import add_ops_commands
    from cli.replay import add_replay_command
    from cli.staff import add_staff_commands

    settings = get_settings()
    parser = argparse.ArgumentParser(
        prog="proctorflow", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="command")

    def command(name: str, run, summary: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=summary, description=summary)
        sub.set_defaults(run=run)
        return sub

    command("worker", cmd_worker, "run a worker: attempt workflows and their activities")

    web = command("web", cmd_web, "run the web app: LMS API, reviewer UI, codec endpoint")
    web.add_argument("--host", default="127.0.0.1")
    web.add_argument("--port", type=int, default=settings.http_port)

    emulator = command("emulator", cmd_emulator, "run the ProctorFree emulator")
    emulator.add_argument("--host", default="127.0.0.1")
    emulator.add_argument("--port", type=int, default=settings.emulator_port)
    emulator.add_argument("--webhook-url", default=None, help="where to POST signed webhooks (default: none)")
    emulator.add_argument("--webhook-secret", default=None, help="default: PROCTORFLOW_WEBHOOK_SECRET")
    emulator.add_argument("--audit-delay", type=float, default=5.0, help="seconds from FINISH to the audit")
    emulator.add_argument(
        "--minute-seconds",
        type=float,
        default=60.0,
        help="real seconds in an emulated minute of a time limit (1: a 10-minute limit runs in 10 s)",
    )
    emulator.add_argument(
        "--sessions-file",
        type=Path,
        default=None,
        help="keep the sessions in this JSON file, read at start (default: in memory only)",
    )

    command("setup", cmd_setup, "register ProctorFlow's search attributes on the Temporal server")

    add_account_commands(commands)

    dev = command("dev", cmd_dev, "everything on this machine: Temporal, worker, web app, emulator, demo LMS")
    dev.add_argument("--http-port", type=int, default=settings.http_port)
    dev.add_argument("--emulator-port", type=int, default=settings.emulator_port)
    dev.add_argument("--temporal-port", type=int, default=7233)
    dev.add_argument("--ui-port", type=int, default=8233)
    dev.add_argument(
        "--demo-lms-port", type=int, default=settings.demo_lms_port, help="the demo LMS (the learner's side)"
    )
    dev.add_argument("--smtp-port", type=int, default=8025, help="the local SMTP sink e-mail goes to")
    dev.add_argument("--mail-port", type=int, default=8026, help="the page listing the e-mail sent")
    dev.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    dev.add_argument("--audit-delay", type=float, default=20.0, help="seconds the emulator takes to audit")

    add_ops_commands(commands)
    add_event_commands(commands)
    add_notice_commands(commands)
    add_replay_command(commands)
    add_staff_commands(commands)
    return parser


# --- The parts ------------------------------------------------------------------------------


def cmd_worker(args: argparse.Namespace) -> None:
    from cli.worker import run_worker
    from proctorflow.crypto import secret_box

    settings = settings_to_serve()
    _run_event_loop(run_worker(settings, secret_box(settings)))


def _run_event_loop(main: Coroutine[Any, Any, None]) -> None:
    """uvloop where it is installed (uvicorn[standard] brings it everywhere but Windows): the
    worker's bridge to Temporal and its activities spend about 12% less CPU than on asyncio's
    own loop (`make bench`). Workflows run in Temporal's own deterministic loop either way."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
        return
    uvloop.run(main)


def cmd_web(args: argparse.Namespace) -> None:
    import uvicorn

    from store.db import make_engine
    from store.health import require_schema
    from web.app import create_app

    settings = settings_to_serve()
    engine = make_engine(settings.database_url)
    require_schema(engine, settings.database_url)  # refused here in words, not as a startup trace
    engine.dispose()
    app = create_app(settings)
    uvicorn.run(app, host=args.host, port=args.port, timeout_graceful_shutdown=5)


def cmd_emulator(args: argparse.Namespace) -> None:
    import uvicorn

    from proctorfree.emulator.app import create_app

    app = create_app(
        webhook_url=args.webhook_url,
        webhook_secret=args.webhook_secret or get_settings().webhook_secret,
        audit_delay_seconds=args.audit_delay,
        sessions_file=args.sessions_file,
        minute_seconds=args.minute_seconds,
    )
    uvicorn.run(app, host=args.host, port=args.port, timeout_graceful_shutdown=5)


def cmd_dev(args: argparse.Namespace) -> int:
    from cli.dev import run_dev
    from cli.dev_layout import DevOptions

    options = DevOptions(
        http_port=args.http_port,
        emulator_port=args.emulator_port,
        temporal_port=args.temporal_port,
        ui_port=args.ui_port,
        data_dir=args.data_dir,
        audit_delay=args.audit_delay,
        demo_lms_port=args.demo_lms_port,
        smtp_port=args.smtp_port,
        mail_port=args.mail_port,
    )
    return run_dev(options)


def cmd_setup(args: argparse.Namespace) -> None:
    from proctorflow.temporal import register_search_attributes
    from workflows.search_attributes import ALL

    settings = settings_with_temporal()
    with_temporal(
        lambda client: register_search_attributes(client, ALL, settings.temporal_namespace), sealed=False
    )
    print(f"Temporal at {settings.temporal_address}: ProctorFlow's search attributes are registered")
