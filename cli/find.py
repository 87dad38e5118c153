"""`proctorflow find --learner ID`: a learner's attempts, and how to find them in Temporal Web.

Temporal holds no learner id in clear: the `LearnerId` search attribute is a keyed pseudonym
(`workflows.search_attributes.learner_pseudonym`). This command computes it from the settings
(PROCTORFLOW_LEARNER_PSEUDONYM_KEY, or the payload key ring), lists the learner's attempts from
the database with their workflow ids, and prints the query to paste into Temporal Web or
`temporal workflow list --query`. It asks Temporal nothing.
"""

from __future__ import annotations

import argparse

from sqlmodel import col, select

from cli.common import UsageError, database_sessions
from models.tables import Attempt
from proctorflow.settings import Settings, get_settings
from proctorflow.temporal import pseudonym_keys
from workflows.search_attributes import LEARNER_ID, learner_pseudonym

NO_KEY = (
    "PROCTORFLOW_PAYLOAD_KEYS (or PROCTORFLOW_LEARNER_PSEUDONYM_KEY) is not set: the LearnerId "
    "pseudonym is keyed; set it as the web app has it (for `proctorflow dev`: "
    "PROCTORFLOW_PAYLOAD_KEYS=$(cat .data/payload.keys))"
)


def add_find_command(subparsers: argparse._SubParsersAction) -> None:
    summary = "a learner's attempts, their workflow ids and the Temporal Web query that finds them"
    find = subparsers.add_parser("find", help=summary, description=summary)
    find.set_defaults(run=cmd_find)
    find.add_argument("--learner", required=True, metavar="ID", help="the LMS's learner id")
    find.add_argument("--org", default=None, help="only this organisation's attempts")


def learner_query(settings: Settings, learner_id: str) -> tuple[list[str], str]:
    """The learner's pseudonyms (the one new attempts carry first) and the visibility query
    that matches any of them."""
    if not (settings.payload_keys or settings.learner_pseudonym_key):
        raise UsageError(NO_KEY)
    pseudonyms = list(dict.fromkeys(learner_pseudonym(key, learner_id) for key in pseudonym_keys(settings)))
    if len(pseudonyms) == 1:
        return pseudonyms, f"{LEARNER_ID.name} = '{pseudonyms[0]}'"
    listed = ", ".join(f"'{p}'" for p in pseudonyms)
    return pseudonyms, f"{LEARNER_ID.name} IN ({listed})"


def cmd_find(args: argparse.Namespace) -> int:
    settings = get_settings()
    pseudonyms, query = learner_query(settings, args.learner)
    with database_sessions(settings) as sessions, sessions() as session:
        statement = select(Attempt).where(Attempt.learner_id == args.learner)
        if args.org:
            statement = statement.where(Attempt.org_id == args.org)
        attempts = session.exec(
            statement.order_by(col(Attempt.created_at), col(Attempt.attempt_number))
        ).all()

    print(f"learner {args.learner!r}")
    print(f"  LearnerId pseudonym: {pseudonyms[0]}")
    for older in pseudonyms[1:]:
        print(f"  under an older payload key: {older}")
    print("Temporal Web (Workflows, filter) or `temporal workflow list --query`:")
    print(f"  {query}")
    if not attempts:
        print("no attempt of this learner in the database")
        return 0
    print(f"{len(attempts)} attempt(s) in the database, oldest first:")
    for attempt in attempts:
        print(
            f"  {attempt.id}  {attempt.status:<16} org {attempt.org_id} course {attempt.course_id} "
            f"lesson {attempt.lesson_id} #{attempt.attempt_number}  workflow {attempt.workflow_id}"
        )
    return 0
