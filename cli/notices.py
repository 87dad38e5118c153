"""E-mail notices: the worker starts their dispatcher and the reviewers' digest schedule
(`start_notices`); ops see them and send a failed one again (`proctorflow notices`); dev mode's
local SMTP sink (`proctorflow mail-sink`, `cli/mail_sink.py`).

    proctorflow notices [--org ORG]           counts by state; the pending and failed ones
    proctorflow notices --failed [--org ORG]  the notices that gave up, and why
    proctorflow notices --send-again ID       a failed notice pending again: sent in its turn

Neither the addresses nor the texts are printed: ids, kinds, states, tries and reasons only.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
from collections import Counter
from datetime import timedelta
from pathlib import Path

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
)
from temporalio.common import WorkflowIDConflictPolicy

from activities.notices import unusable_reason
from proctorflow.errors import NotFound
from proctorflow.settings import Settings
from store import notices
from store.db import transaction
from workflows.notices import (
    DIGEST_CRON,
    NoticeDispatchWorkflow,
    ReviewerDigestWorkflow,
    digest_schedule_id,
)

log = logging.getLogger("proctorflow.worker")


async def start_notices(client: Client, settings: Settings) -> None:
    """The one dispatcher of this deployment's notices and its daily digest schedule, unless they
    exist (every worker asks); says so when this worker cannot send e-mail."""
    reason = unusable_reason(settings)
    if reason is not None:
        log.warning("%s: e-mail notices are queued and kept pending, none is sent", reason)
    await client.start_workflow(
        NoticeDispatchWorkflow.run,
        id=f"notice-dispatch-{settings.task_queue}",
        task_queue=settings.event_task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )
    schedule = Schedule(
        action=ScheduleActionStartWorkflow(
            ReviewerDigestWorkflow.run,
            id=f"reviewer-digest-{settings.task_queue}",
            task_queue=settings.event_task_queue,
        ),
        spec=ScheduleSpec(cron_expressions=[DIGEST_CRON]),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=timedelta(hours=12)),
    )
    with contextlib.suppress(ScheduleAlreadyRunningError):  # made by an earlier worker
        await client.create_schedule(digest_schedule_id(settings.task_queue), schedule)


# --- `proctorflow notices`, `proctorflow mail-sink` ------------------------------------------


def add_notice_commands(subparsers: argparse._SubParsersAction) -> None:
    summary = "e-mail notices: counts by state, failed ones, send a failed one again"
    command = subparsers.add_parser(
        "notices", help=summary, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    command.set_defaults(run=cmd_notices)
    command.add_argument("--org", default=None, help="one organisation only")
    what = command.add_mutually_exclusive_group()
    what.add_argument("--failed", action="store_true", help="list the notices that gave up")
    what.add_argument("--send-again", metavar="NOTICE_ID", help="send this failed notice again")

    summary = "a local SMTP server that keeps what it receives and lists it on a page (dev mode runs it)"
    sink = subparsers.add_parser("mail-sink", help=summary, description=summary)
    sink.set_defaults(run=cmd_mail_sink)
    sink.add_argument("--host", default="127.0.0.1")
    sink.add_argument("--smtp-port", type=int, default=8025)
    sink.add_argument("--http-port", type=int, default=8026, help="the page listing what it received")
    sink.add_argument("--folder", type=Path, default=Path(".data/mail"), help="where each message is kept")


def cmd_notices(args: argparse.Namespace) -> int:
    from cli.common import database_sessions

    with database_sessions() as sessions:
        if args.send_again:
            with transaction(sessions) as session:
                if not notices.send_again(session, args.send_again):
                    raise NotFound(
                        f"no failed notice {args.send_again} (`proctorflow notices --failed` lists them)"
                    )
            print(f"notice {args.send_again}: pending again, sent in its turn")
            return 0
        with sessions() as session:
            if args.failed:
                rows = notices.listing(session, args.org, notices.FAILED)
            else:
                counts = Counter(n.state for n in notices.listing(session, args.org, limit=1_000_000))
                print(
                    "  "
                    + (", ".join(f"{count} {state}" for state, count in sorted(counts.items())) or "none")
                )
                rows = [n for n in notices.listing(session, args.org, limit=200) if n.state != notices.SENT]
        for notice in rows:
            print(
                f"  {notice.id}  {notice.state:<8} org {notice.org_id}  {notice.tries} tries"
                + (f": {notice.last_error}" if notice.last_error else "")
            )
        if args.failed:
            print(f"{len(rows)} failed notices" if rows else "no failed notices")
    return 0


def cmd_mail_sink(args: argparse.Namespace) -> None:
    from cli.mail_sink import run_mail_sink

    run_mail_sink(args.host, args.smtp_port, args.http_port, args.folder)
