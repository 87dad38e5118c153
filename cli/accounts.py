"""The database and account commands of `proctorflow`: bring the schema up to date, seed the
demo, add organisations and reviewer logins, set a reviewer's password, end a reviewer's
sessions, and seal every stored secret again after a key rotation."""

from __future__ import annotations

import argparse
import getpass
import re
import sys
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.engine import make_url

from cli.common import DEFAULT_DATA_DIR, UsageError, database_sessions
from proctorflow.crypto import SecretBox, load_or_create_key
from proctorflow.settings import get_settings
from store.db import transaction

ORG_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def add_account_commands(subparsers: argparse._SubParsersAction) -> None:
    """Register the database and account commands on `proctorflow`'s sub-command parsers."""

    def command(
        name: str, run: Callable[[argparse.Namespace], None], summary: str
    ) -> argparse.ArgumentParser:
        sub = subparsers.add_parser(name, help=summary, description=summary)
        sub.set_defaults(run=run)
        return sub

    command("migrate", cmd_migrate, "bring the database schema up to date")

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

    password = command(
        "set-reviewer-password",
        cmd_set_reviewer_password,
        "set a reviewer's password (every session of theirs is signed out)",
    )
    password.add_argument("--username", required=True)
    password.add_argument("--password", help="at least 8 characters; asked for when left out")

    revoke = command(
        "revoke-sessions",
        cmd_revoke_sessions,
        "sign a reviewer out everywhere: every session of theirs stops working at once",
    )
    revoke.add_argument("--reviewer", required=True, metavar="USERNAME")

    rotate = command(
        "rotate-secrets",
        cmd_rotate_secrets,
        "seal every stored secret (vendor credentials, event-endpoint secrets) again under the first "
        "key of PROCTORFLOW_SECRET_KEY, so older keys can then be dropped from it",
    )
    rotate.add_argument(
        "--data-dir", type=Path, default=DEFAULT_DATA_DIR, help="dev mode's key, when the setting is unset"
    )


def cmd_migrate(args: argparse.Namespace) -> None:
    from store.migrate import upgrade

    settings = get_settings()
    upgrade(settings.database_url)
    print(f"database {_safe_url(settings.database_url)} is at the latest schema")


def cmd_seed_demo(args: argparse.Namespace) -> None:
    from cli.seed import seed_demo

    settings = get_settings()
    with database_sessions(settings) as sessions:
        box = SecretBox(settings.secret_key or load_or_create_key(args.data_dir / "secret.key"))
        seed = seed_demo(sessions, box, settings.lms_token, args.data_dir)
    print(f"demo: {', '.join(seed.created) or 'nothing to add, all there already'}")
    print(f'course {seed.course_id} "{seed.course_title}" in organisation {seed.org_id}:')
    for lesson in seed.lessons:
        print(f"  {lesson}")
    print(f"reviewer login: {seed.reviewer_username} / {seed.reviewer_password}")


def cmd_create_org(args: argparse.Namespace) -> None:
    from store import catalog, tokens

    if not ORG_ID.match(args.id):
        raise UsageError(
            f"--id {args.id!r}: use 1-100 letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    with database_sessions() as sessions, transaction(sessions) as session:
        catalog.ensure_organisation(session, args.id, args.name)
        _, token = tokens.create(session, args.id, "proctorflow create-org")
    print(f"organisation {args.id}: its LMS API token (shown once; only its hash is kept):", file=sys.stderr)
    print(token)


def cmd_create_reviewer(args: argparse.Namespace) -> None:
    from models.tables import Organisation
    from store.reviewers import create_reviewer

    password = args.password if args.password is not None else _ask_password()
    with database_sessions() as sessions, transaction(sessions) as session:
        if session.get(Organisation, args.org) is None:
            raise UsageError(
                f"organisation {args.org!r} does not exist: add it with `proctorflow create-org`"
            )
        create_reviewer(session, args.org, args.username, password, display_name=args.display_name)
    print(f"reviewer {args.username} of organisation {args.org} can log in at /review/login")


def cmd_set_reviewer_password(args: argparse.Namespace) -> None:
    from store.reviewers import by_username, change_password

    password = args.password if args.password is not None else _ask_password()
    with database_sessions() as sessions, transaction(sessions) as session:
        reviewer = by_username(session, args.username)
        if reviewer is None:
            raise UsageError(f"there is no reviewer {args.username!r}")
        revoked = change_password(session, reviewer, password)
    print(f"reviewer {args.username}: password set; {_sessions(revoked)} signed out")


def cmd_revoke_sessions(args: argparse.Namespace) -> None:
    from store.review_sessions import revoke_all
    from store.reviewers import by_username

    with database_sessions() as sessions, transaction(sessions) as session:
        reviewer = by_username(session, args.reviewer)
        if reviewer is None:
            raise UsageError(f"there is no reviewer {args.reviewer!r}")
        revoked = revoke_all(session, reviewer.id)
    print(f"reviewer {args.reviewer}: {_sessions(revoked)} revoked; they sign in again to go on")


def cmd_rotate_secrets(args: argparse.Namespace) -> None:
    from store.sealed import reseal_all

    settings = get_settings()
    dev_key = args.data_dir / "secret.key"
    if not settings.secret_key and not dev_key.exists():
        raise UsageError("PROCTORFLOW_SECRET_KEY is not set: set the key ring, newest key first")
    box = SecretBox(settings.secret_key or load_or_create_key(dev_key))
    try:
        with database_sessions(settings) as sessions, transaction(sessions) as session:
            done = reseal_all(session, box)
    except ValueError as refused:
        raise UsageError(str(refused)) from None
    print(
        f"{done.values} stored secrets sealed again under the first key of the ring "
        f"({done.were_older} were under an older key)"
    )
    print("once every web app and worker runs with this ring, older keys can be dropped from it")


def _sessions(count: int) -> str:
    return f"{count} open session{'s' if count != 1 else ''}"


def _ask_password() -> str:
    password = getpass.getpass("password (at least 8 characters): ")
    if getpass.getpass("the same password again: ") != password:
        raise UsageError("the two passwords differ: nothing was created")
    return password


def _safe_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)
