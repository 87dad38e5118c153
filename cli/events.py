"""`proctorflow events`: what ops see of the events to the LMS, and what they redo.

    proctorflow events                        per organisation: its endpoint, deliveries by state
    proctorflow events --failed [--org ORG]   the deliveries that gave up (retried for 3 days)
    proctorflow events --redeliver EVENT_ID   deliver one event again, in its turn
    proctorflow events --redeliver-failed [--org ORG]

Reads and writes the database only: the worker's dispatcher picks up what is pending again.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from urllib.parse import urlsplit

from cli.common import database_sessions
from cli.ops import human
from models.tables import EventEndpoint, OutboundEvent
from proctorflow.errors import Invalid, NotFound
from store import deliveries
from store.db import transaction


def add_event_commands(subparsers: argparse._SubParsersAction) -> None:
    summary = "events to the LMS: deliveries by state, failed ones, redelivery"
    events = subparsers.add_parser(
        "events", help=summary, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    events.set_defaults(run=cmd_events)
    events.add_argument("--org", default=None, help="one organisation only")
    what = events.add_mutually_exclusive_group()
    what.add_argument("--failed", action="store_true", help="list the deliveries that gave up")
    what.add_argument("--redeliver", metavar="EVENT_ID", help="deliver this event again")
    what.add_argument("--redeliver-failed", action="store_true", help="deliver every failed one again")


def cmd_events(args: argparse.Namespace) -> int:
    with database_sessions() as sessions:
        if args.redeliver:
            with transaction(sessions) as session:
                event = session.get(OutboundEvent, args.redeliver)
                if event is None:
                    raise NotFound(
                        f"event {args.redeliver} does not exist (`proctorflow events --failed` lists ids)"
                    )
                if session.get(EventEndpoint, event.org_id) is None:
                    raise Invalid(f"organisation {event.org_id} has no event endpoint: nothing to deliver to")
                deliveries.redeliver(session, event)
            print(f"event {args.redeliver} ({event.type}): pending again, delivered in its turn")
        elif args.redeliver_failed:
            with transaction(sessions) as session:
                count = deliveries.redeliver_failed(session, args.org)
            print(f"{count} failed deliveries pending again")
        elif args.failed:
            with sessions() as session:
                failed = deliveries.failed_deliveries(session, args.org)
            for delivery, type_ in failed:
                last = (
                    f"{delivery.last_attempt_at:%Y-%m-%d %H:%M} UTC" if delivery.last_attempt_at else "never"
                )
                print(
                    f"  {delivery.event_id}  {type_:<24} org {delivery.org_id}  {delivery.attempts} tries, "
                    f"last {last}: {delivery.last_error or 'no answer recorded'}"
                )
            print(f"{len(failed)} failed deliveries" if failed else "no failed deliveries")
        else:
            with sessions() as session:
                overview = [o for o in deliveries.delivery_overview(session) if args.org in (None, o.org_id)]
            for org in overview:
                print(describe(org, datetime.now(UTC)))
            if not overview:
                print("no organisation has an event endpoint or deliveries")
    return 0


def describe(org: deliveries.OrgDeliveries, now: datetime) -> str:
    # Scheme and host only: an endpoint's path or query may hold a token.
    where = (
        f"{urlsplit(org.endpoint_url).scheme}://{urlsplit(org.endpoint_url).netloc}/…"
        if org.endpoint_url
        else "none"
    )
    counts = ", ".join(f"{count} {state}" for state, count in org.counts.items())
    line = f"  {org.org_id}: endpoint {where}; {counts}"
    if org.oldest_pending_at is not None:
        line += f"; oldest pending {human(now - org.oldest_pending_at)} old"
    return line
