"""The ops commands of `proctorflow`: find attempts that wait too long and act on them.

    proctorflow stuck [--older-than 2h] [--status error]
    proctorflow check-now ATTEMPT_ID
    proctorflow resume ATTEMPT_ID | --all-errors
    proctorflow cancel ATTEMPT_ID
    proctorflow reconcile ATTEMPT_ID | --all
    proctorflow find --learner ID [--org ORG]

`stuck` reads the database (and, when Temporal is reachable, marks the attempts whose workflow
has closed); the others act through Temporal (PROCTORFLOW_TEMPORAL_ADDRESS), through the client
every command shares (`cli.common`). Refusals are `Refused` or `UsageError`: the CLI prints them
and exits 2.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from temporalio.client import Client
from temporalio.service import RPCError

from cli.common import UsageError, database_sessions, with_temporal
from cli.find import add_find_command
from models.tables import Attempt
from proctorflow.errors import Conflict, Invalid, NotFound
from starter import ops, reconcile

DURATION = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$")
UNITS = {"": "seconds", "s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def add_ops_commands(subparsers: argparse._SubParsersAction) -> None:
    """Register the ops commands on `proctorflow`'s sub-command parsers."""

    def command(name: str, run: Callable[[argparse.Namespace], int], summary: str) -> argparse.ArgumentParser:
        sub = subparsers.add_parser(name, help=summary, description=summary)
        sub.set_defaults(run=run)
        return sub

    stuck = command("stuck", cmd_stuck, "list open attempts that have not moved for a while, and why")
    stuck.add_argument("--older-than", type=duration, default=timedelta(hours=2), help="90s, 30m, 2h, 1d")
    stuck.add_argument("--status", default=None, help="only this status, e.g. error (parked)")

    check = command("check-now", cmd_check_now, "ask ProctorFree now about an attempt, not at the next poll")
    check.add_argument("attempt_id", metavar="ATTEMPT_ID")

    resume = command("resume", cmd_resume, "retry the refused vendor call of parked attempts (once rotated)")
    resume.add_argument("attempt_id", metavar="ATTEMPT_ID", nargs="?")
    resume.add_argument("--all-errors", action="store_true", help="every attempt parked in error")

    cancel = command("cancel", cmd_cancel, "end an attempt: close its ProctorFree session, mark it expired")
    cancel.add_argument("attempt_id", metavar="ATTEMPT_ID")

    fix = command(
        "reconcile",
        cmd_reconcile,
        "end attempts whose workflow closed without ending them; stop reset runs of ended attempts",
    )
    fix.add_argument("attempt_id", metavar="ATTEMPT_ID", nargs="?")
    fix.add_argument("--all", action="store_true", help="every attempt that needs it")

    add_find_command(subparsers)


def duration(text: str) -> timedelta:
    """'90s', '30m', '2h', '1d' or plain seconds."""
    found = DURATION.match(text)
    if found is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration: write e.g. 90s, 30m, 2h or 1d")
    amount, unit = found.groups()
    return timedelta(**{UNITS[unit]: int(amount)})


# --- The commands ---------------------------------------------------------------------------


def cmd_stuck(args: argparse.Namespace) -> int:
    with database_sessions() as sessions:
        found = ops.stuck_attempts(sessions, args.older_than, args.status)
    now, threshold = datetime.now(UTC), human(args.older_than)
    if not found:
        print(f"no open attempt has waited longer than {threshold}")
        return 0
    found, unmarked = _marked(found)
    print(f"{len(found)} open attempt(s) waiting longer than {threshold}, longest first:")
    for attempt in found:
        print(describe(attempt, now))
    if unmarked:
        print(f"(not marked which workflows have closed: {unmarked})")
    return 0


def cmd_check_now(args: argparse.Namespace) -> int:
    with_temporal(lambda client: ops.check_now(client, args.attempt_id))
    print(f"attempt {args.attempt_id}: asked to check ProctorFree now")
    return 0


def cmd_resume(args: argparse.Namespace) -> int:
    if bool(args.attempt_id) == bool(args.all_errors):
        raise Invalid("name one ATTEMPT_ID, or pass --all-errors to resume every attempt parked in error")
    targets = _parked_attempts() if args.all_errors else [_refuse_unless_parked(args.attempt_id)]

    async def resume_all(client: Client) -> None:
        for attempt_id in targets:
            await ops.resume(client, attempt_id)

    if targets:
        with_temporal(resume_all)
    for attempt_id in targets:
        print(f"attempt {attempt_id}: resumed; it retries the refused ProctorFree call now")
    if not targets:
        print("no attempt is parked in error: nothing to resume")
    return 0


def cmd_cancel(args: argparse.Namespace) -> int:
    with database_sessions() as sessions:
        reconciled = with_temporal(lambda client: ops.cancel(client, sessions, args.attempt_id))
    if reconciled is not None:
        print(f"{reconciled.message} (reconciled: there was no running workflow to cancel)")
    else:
        print(f"attempt {args.attempt_id}: cancelled; its ProctorFree session closes and it ends expired")
    return 0


def cmd_reconcile(args: argparse.Namespace) -> int:
    if bool(args.attempt_id) == bool(args.all):
        raise Invalid("name one ATTEMPT_ID, or pass --all to reconcile every attempt that needs it")
    with database_sessions() as sessions:
        if args.all:
            done = with_temporal(lambda client: reconcile.reconcile_all(client, sessions))
            for outcome in done:
                print(outcome.message)
            print(f"{len(done)} attempt(s) reconciled" if done else "every attempt agrees with Temporal")
        else:
            outcome = with_temporal(lambda client: reconcile.reconcile(client, sessions, args.attempt_id))
            print(outcome.message)
    return 0


def human(span: timedelta) -> str:
    """2h, 1d3h, 45m, 90s -> 1m30s: the way --older-than is written."""
    seconds, parts = int(span.total_seconds()), []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts) or "0s"


def describe(attempt: ops.StuckAttempt, now: datetime) -> str:
    idle = human(attempt.idle_for(now))
    line = (
        f"  {attempt.attempt_id}  {attempt.status:<16} idle {idle:>10}  org {attempt.org_id} "
        f"course {attempt.course_id} lesson {attempt.lesson_id} learner {attempt.learner_id} "
        f"#{attempt.attempt_number} ({attempt.method})"
    )
    if attempt.error_reason:
        line += f"\n      why: {attempt.error_reason}"
    if attempt.workflow_ended:
        line += f"\n      workflow {_past(attempt.workflow_ended)}: `proctorflow reconcile` closes it"
    return line


def _past(ending: str) -> str:
    """ "was terminated" -> "terminated": the mark's wording."""
    return ending.removeprefix("was ").removeprefix("is ")


# --- Helpers --------------------------------------------------------------------------------


def _marked(found: list[ops.StuckAttempt]) -> tuple[list[ops.StuckAttempt], str | None]:
    """The attempts, those whose workflow has closed marked, when Temporal can be asked; else
    as they are, with why not."""
    try:
        # Describing workflows sends and reads no payload: no key ring needed.
        return with_temporal(lambda client: ops.mark_closed_workflows(client, found), sealed=False), None
    except (UsageError, RPCError) as unreachable:
        return found, str(unreachable)


def _parked_attempts() -> list[str]:
    with database_sessions() as sessions:
        parked = ops.stuck_attempts(sessions, timedelta(0), "error")
    return [attempt.attempt_id for attempt in parked]


def _refuse_unless_parked(attempt_id: str) -> str:
    """Resuming an attempt that is not parked does nothing: say so rather than pretend."""
    with database_sessions() as sessions, sessions() as session:
        attempt = session.get(Attempt, attempt_id)
    if attempt is None:
        raise NotFound(f"attempt {attempt_id} does not exist (`proctorflow stuck` lists the open ones)")
    if attempt.status != "error":
        raise Conflict(f"attempt {attempt_id} is {attempt.status}, not parked in error: nothing to resume")
    return attempt_id
