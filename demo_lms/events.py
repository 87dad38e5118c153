"""Events from ProctorFlow: the endpoint they are delivered to, verified as Standard Webhooks,
and the catch-up from the event feed at start (what happened while the demo LMS was away).

The signing secret comes from registering the endpoint at start (a new one each start: the
previous one still signs for 24 hours, so deliveries already on their way verify too) and lives
in memory only.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from demo_lms.ledger import Ledger
from demo_lms.proctorflow_api import ProctorFlowApi

log = logging.getLogger("demo_lms.events")
router = APIRouter()

CATCH_UP_PAGES = 50  # of 500 events: a long-lived dev database's history, not more


@router.post("/events", include_in_schema=False)
async def receive_event(request: Request) -> Response:
    """204 for an event taken (or taken before); 400 when its signature does not verify."""
    verifier: Webhook | None = request.app.state.verifier
    if verifier is None:
        return _refused(503, "the demo LMS has not registered its endpoint yet: deliver again shortly")
    body = await request.body()
    try:
        payload = verifier.verify(body, dict(request.headers))
    except (WebhookVerificationError, ValueError) as error:  # ValueError: a malformed header or body
        log.warning("refused an event delivery: %s", error)
        return _refused(400, f"the delivery's signature does not verify ({error or type(error).__name__})")
    if not isinstance(payload, dict) or not isinstance(payload.get("data"), dict):
        return _refused(400, 'the body must be {"type", "timestamp", "data": {...}}')
    ledger: Ledger = request.app.state.ledger
    event_id = request.headers["webhook-id"]  # verified: it is signed with the body
    ledger.take(event_id, str(payload.get("type")), str(payload.get("timestamp")), payload["data"])
    return Response(status_code=204)


def _refused(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": {"message": message}}, status_code=status)


async def catch_up(api: ProctorFlowApi, ledger: Ledger) -> int:
    """Take every event the feed holds (the ledger skips those it has); how many were new."""
    cursor, new = "0", 0
    for _ in range(CATCH_UP_PAGES):
        page = await api.events_after(cursor)
        for event in page["events"]:
            new += ledger.take(event["id"], event["type"], event["timestamp"], event["data"])
        if not page["events"]:
            break
        cursor = page["next_cursor"]
    return new
