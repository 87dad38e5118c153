"""ProctorFree's webhooks: signed with a timestamped HMAC, each event accepted once.

No bearer token here: the signature is the authentication. A delivery is checked in this
order: signature and freshness (401), body (422), event id not seen before (409), attempt known
(404); then the event becomes the workflow signal it stands for, and only then is its id kept.

Keeping the id after the signal, rather than in a transaction held open around it, means a
crash in between lets ProctorFree's retry deliver the event again, which the workflow ignores
(it ignores what it already knows); an event is never lost to an id kept for a delivery that
failed. Two copies racing each other may both be signalled; the second is still answered 409.

`session.warning` is no signal (the workflow has nothing to decide): it becomes the LMS event
`attempt.time_warning`, written in one transaction with its id, so it is told once.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import Depends, Request
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from models.api import WebhookAccepted
from models.events import EventType, attempt_ids
from models.tables import Attempt, WebhookDelivery
from proctorflow.errors import Conflict, Invalid, NotFound, Refused
from proctorfree.webhooks import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookEvent,
    WebhookSignatureError,
    verify,
)
from starter import signals
from store.events import emit
from web.api.common import api_router, read, temporal_reachable, write
from web.services import Services, services

router = api_router(prefix="/webhooks", tags=["vendor webhooks"])


class BadSignature(Refused):
    status = 401
    code = "bad_signature"


@router.post(
    "/proctorfree",
    response_model=WebhookAccepted,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": WebhookEvent.model_json_schema()}},
        }
    },
)
async def receive_proctorfree_event(request: Request, svc: Services = Depends(services)) -> WebhookAccepted:
    body = await request.body()
    settings = svc.settings
    try:
        verify(
            settings.webhook_secret,
            request.headers.get(TIMESTAMP_HEADER),
            request.headers.get(SIGNATURE_HEADER),
            body,
            now=time.time(),
            tolerance_seconds=settings.webhook_tolerance,
        )
    except WebhookSignatureError as refused:
        raise BadSignature(f"webhook refused: {refused.reason}") from None
    event = parse_event(body)
    if event.type == "session.warning":
        await write(svc, lambda session: tell_time_warning(session, event))
        return WebhookAccepted(accepted=True, event_id=event.event_id)
    await read(svc, lambda session: refuse_replay(session, event))
    async with temporal_reachable():
        await signals.deliver_vendor_event(svc.temporal, svc.sessions, event)
    await write(svc, lambda session: remember_delivery(session, event))
    return WebhookAccepted(accepted=True, event_id=event.event_id)


def parse_event(body: bytes) -> WebhookEvent:
    try:
        return WebhookEvent.model_validate_json(body)
    except ValidationError as error:
        problems = [
            {"field": ".".join(str(p) for p in e["loc"]) or "body", "problem": e["msg"]}
            for e in error.errors(include_url=False, include_input=False)
        ]
        summary = "; ".join(f"{p['field']}: {p['problem']}" for p in problems)
        raise Invalid(
            f"the webhook body is not a ProctorFree event: {summary}", {"problems": problems}
        ) from None


def tell_time_warning(session: Session, event: WebhookEvent) -> None:
    """ProctorFree warned the learner of the minutes left: the LMS hears it as
    `attempt.time_warning`; the event and the delivery's id commit together or not at all."""
    if event.minutes_left is None:
        raise Invalid("a session.warning must say minutes_left")
    refuse_replay(session, event)
    attempt = session.exec(select(Attempt).where(Attempt.vendor_session_id == event.session_id)).first()
    if attempt is None or attempt.id != event.external_id:
        raise NotFound(f"no attempt has ProctorFree session {event.session_id}")
    data = time_warning(attempt, event.minutes_left)
    emit(
        session,
        attempt.org_id,
        attempt.course_id,
        attempt.learner_id,
        EventType.ATTEMPT_TIME_WARNING,
        data,
        at=event.occurred_at,
    )
    remember_delivery(session, event)


def time_warning(attempt: Attempt, minutes_left: int) -> dict[str, Any]:
    return attempt_ids(attempt, minutes_left=minutes_left)


def refuse_replay(session: Session, event: WebhookEvent) -> None:
    """Each event id is accepted once: a replay of a validly signed delivery is refused."""
    if session.get(WebhookDelivery, event.event_id) is not None:
        raise replayed(event)


def remember_delivery(session: Session, event: WebhookEvent) -> None:
    session.add(WebhookDelivery(event_id=event.event_id, type=event.type, session_id=event.session_id))
    try:
        session.flush()
    except IntegrityError:  # the same event, delivered twice at the same moment
        raise replayed(event) from None


def replayed(event: WebhookEvent) -> Conflict:
    return Conflict(f"event {event.event_id} was delivered already: a replay is not accepted again")
