"""`proctorflow`: run each part of the system (each can run on its own host), manage the
database and accounts, or run everything on one machine with `proctorflow dev`.

Settings come from the environment and `.env` (PROCTORFLOW_*). Refusals print what to fix and
exit with code 2.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import re
import secrets
import sys
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, ProgrammingError

from proctorflow.crypto import SecretBox, load_or_create_key, secret_box
from proctorflow.errors import Refused
from proctorflow.logs import configure_logging
from proctorflow.settings import Settings, get_settings
from store.db import SessionFactory, make_engine, session_factory, transaction

ORG_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
DEFAULT_DATA_DIR = Path(".data")


class UsageError(Exception):
    """A command cannot run as asked; the message says what to fix."""


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

    web = command("web", cmd_web, "run the web app: LMS API, reviewer UI, learner demo page")
    web.add_argument("--host", default="127.0.0.1")
    web.add_argument("--port", type=int, default=settings.http_port)

    emulator = command("emulator", cmd_emulator, "run the ProctorFree emulator")
    emulator.add_argument("--host", default="127.0.0.1")
    emulator.add_argument("--port", type=int, default=settings.emulator_port)
    emulator.add_argument("--webhook-url", default=None, help="where to POST signed webhooks (default: none)")
    emulator.add_argument("--webhook-secret", default=None, help="default: PROCTORFLOW_WEBHOOK_SECRET")
    emulator.add_argument("--audit-delay", type=float, default=5.0, help="seconds from FINISH to the audit")

    command("migrate", cmd_migrate, "bring the database schema up to date")
    command("setup", cmd_setup, "register ProctorFlow's search attributes on the Temporal server")

    seed = command("seed-demo", cmd_seed_demo, "add the demo organisation, course and reviewer (idempotent)")
    seed.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR, help="as for `proctorflow dev`")

    org = command("create-org", cmd_create_org, "add an organisation and print a new LMS API token for it")
    org.add_argument("--id", required=True, help="letters, digits, '.', '_' or '-'")
    org.add_argument("--name", required=True)

    reviewer = command("create-reviewer", cmd_create_reviewer, "add a reviewer login to an organisation")
    reviewer.add_argument("--org", required=True, help="the organisation id")
    reviewer.add_argument("--username", required=True)
    reviewer.add_argument("--password", help="at least 8 characters; asked for when left out")
    reviewer.add_argument("--display-name", default="")

    dev = command("dev", cmd_dev, "everything on this machine: Temporal, worker, web app, emulator")
    dev.add_argument("--http-port", type=int, default=settings.http_port)
    dev.add_argument("--emulator-port", type=int, default=settings.emulator_port)
    dev.add_argument("--temporal-port", type=int, default=7233)
    dev.add_argument("--ui-port", type=int, default=8233)
    dev.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    dev.add_argument("--audit-delay", type=float, default=20.0, help="seconds the emulator takes to audit")

    from proctorflow.ops_cli import add_ops_commands

    add_ops_commands(commands)
    return parser


# --- The parts ------------------------------------------------------------------------------


def cmd_worker(args: argparse.Namespace) -> None:
    from worker import run_worker

    settings = _settings_with_temporal()
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

    from web.app import create_app

    app = create_app(_settings_with_temporal())
    uvicorn.run(app, host=args.host, port=args.port, timeout_graceful_shutdown=5)


def cmd_emulator(args: argparse.Namespace) -> None:
    import uvicorn

    from proctorfree.emulator.app import create_app

    app = create_app(
        webhook_url=args.webhook_url,
        webhook_secret=args.webhook_secret or get_settings().webhook_secret,
        audit_delay_seconds=args.audit_delay,
    )
    uvicorn.run(app, host=args.host, port=args.port, timeout_graceful_shutdown=5)


def cmd_dev(args: argparse.Namespace) -> int:
    from proctorflow.dev import run_dev
    from proctorflow.dev_layout import DevOptions

    options = DevOptions(
        http_port=args.http_port,
        emulator_port=args.emulator_port,
        temporal_port=args.temporal_port,
        ui_port=args.ui_port,
        data_dir=args.data_dir,
        audit_delay=args.audit_delay,
    )
    return run_dev(options)


def _settings_with_temporal() -> Settings:
    settings = get_settings()
    if not settings.temporal_address:
        raise UsageError(
            "PROCTORFLOW_TEMPORAL_ADDRESS is not set: point it at a Temporal server (host:port), "
            "or run everything with `proctorflow dev`"
        )
    return settings


# --- Database and accounts ------------------------------------------------------------------


def cmd_migrate(args: argparse.Namespace) -> None:
    from store.migrate import upgrade

    settings = get_settings()
    upgrade(settings.database_url)
    print(f"database {_safe_url(settings.database_url)} is at the latest schema")


def cmd_setup(args: argparse.Namespace) -> None:
    from proctorflow.temporal import connect, register_search_attributes

    settings = _settings_with_temporal()

    async def register() -> None:
        try:
            client = await connect(settings)
        except RuntimeError as error:  # the SDK's "failed client connect"
            raise UsageError(f"cannot reach Temporal at {settings.temporal_address}: {error}") from None
        await register_search_attributes(client, settings.temporal_namespace)

    asyncio.run(register())
    print(f"Temporal at {settings.temporal_address}: ProctorFlow's search attributes are registered")


def cmd_seed_demo(args: argparse.Namespace) -> None:
    from proctorflow.seed import seed_demo

    settings = get_settings()
    with _sessions(settings) as sessions:
        box = SecretBox(settings.secret_key or load_or_create_key(args.data_dir / "secret.key"))
        seed = seed_demo(sessions, box, settings.lms_token, args.data_dir)
    print(f"demo: {', '.join(seed.created) or 'nothing to add, all there already'}")
    print(f'course {seed.course_id} "{seed.course_title}" in organisation {seed.org_id}:')
    for lesson in seed.lessons:
        print(f"  {lesson}")
    print(f"reviewer login: {seed.reviewer_username} / {seed.reviewer_password}")


def cmd_create_org(args: argparse.Namespace) -> None:
    from store import catalog

    if not ORG_ID.match(args.id):
        raise UsageError(
            f"--id {args.id!r}: use 1-100 letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    token = f"pf_{secrets.token_urlsafe(32)}"
    with _sessions(get_settings()) as sessions, transaction(sessions) as session:
        catalog.ensure_organisation(session, args.id, args.name)
        catalog.grant_token(session, args.id, token, label="proctorflow create-org")
    print(f"organisation {args.id}: its LMS API token (shown once; only its hash is kept):", file=sys.stderr)
    print(token)


def cmd_create_reviewer(args: argparse.Namespace) -> None:
    from models.tables import Organisation
    from store.reviewers import create_reviewer

    password = args.password if args.password is not None else _ask_password()
    with _sessions(get_settings()) as sessions, transaction(sessions) as session:
        if session.get(Organisation, args.org) is None:
            raise UsageError(
                f"organisation {args.org!r} does not exist: add it with `proctorflow create-org`"
            )
        create_reviewer(session, args.org, args.username, password, display_name=args.display_name)
    print(f"reviewer {args.username} of organisation {args.org} can log in at /review/login")


def _ask_password() -> str:
    password = getpass.getpass("password (at least 8 characters): ")
    if getpass.getpass("the same password again: ") != password:
        raise UsageError("the two passwords differ: nothing was created")
    return password


@contextmanager
def _sessions(settings: Settings) -> Iterator[SessionFactory]:
    """A session factory on a fresh engine, disposed of when the command is done."""
    engine = make_engine(settings.database_url)
    try:
        yield session_factory(engine)
    finally:
        engine.dispose()


def _safe_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


if __name__ == "__main__":
    sys.exit(main())
