"""Staff actions from the command line, the same as the API's and the reviewer UI's: each with a
reason kept in the attempt's history (`starter.staff`).

    proctorflow act ATTEMPT_ID reset|void|resume|check_now --reason "..." [--by NAME]
    proctorflow extend ATTEMPT_ID MINUTES --reason "..." [--by NAME]
"""

from __future__ import annotations

import argparse
import getpass

from cli.common import database_sessions, with_temporal
from models.payloads import ExtendRequest, StaffActionRequest
from models.tables import Attempt
from proctorflow.errors import NotFound
from starter import staff

ACTIONS = ("reset", "void", "resume", "check_now")


def add_staff_commands(subparsers: argparse._SubParsersAction) -> None:
    act = subparsers.add_parser(
        "act",
        help="reset, void, resume or check_now one attempt, with a reason",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    act.add_argument("attempt_id", metavar="ATTEMPT_ID")
    act.add_argument("action", choices=ACTIONS)
    _reason_and_who(act)
    act.set_defaults(run=cmd_act)

    extend = subparsers.add_parser("extend", help="add minutes to a learner's running ProctorFree session")
    extend.add_argument("attempt_id", metavar="ATTEMPT_ID")
    extend.add_argument("minutes", type=int)
    _reason_and_who(extend)
    extend.set_defaults(run=cmd_extend)


def _reason_and_who(command: argparse.ArgumentParser) -> None:
    command.add_argument("--reason", required=True, help="why: kept in the attempt's history")
    command.add_argument("--by", default=None, help="who acts (default: cli:<your login>)")


def cmd_act(args: argparse.Namespace) -> int:
    request = StaffActionRequest(action=args.action, reason=args.reason, by=_who(args))
    with database_sessions() as sessions:
        org_id = _org_of(sessions, args.attempt_id)
        reply = with_temporal(lambda client: staff.act(client, sessions, org_id, args.attempt_id, request))
    print(f"attempt {args.attempt_id}: {reply.message} (now {reply.status})")
    return 0


def cmd_extend(args: argparse.Namespace) -> int:
    request = ExtendRequest(minutes=args.minutes, reason=args.reason, by=_who(args))
    with database_sessions() as sessions:
        org_id = _org_of(sessions, args.attempt_id)
        reply = with_temporal(lambda client: staff.extend(client, sessions, org_id, args.attempt_id, request))
    print(f"attempt {args.attempt_id}: {reply.message}")
    return 0


def _who(args: argparse.Namespace) -> str:
    return args.by or f"cli:{getpass.getuser()}"


def _org_of(sessions, attempt_id: str) -> str:  # noqa: ANN001
    with sessions() as session:
        attempt = session.get(Attempt, attempt_id)
    if attempt is None:
        raise NotFound(f"attempt {attempt_id} does not exist (`proctorflow stuck` lists the open ones)")
    return attempt.org_id
