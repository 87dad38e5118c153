"""At start, the demo LMS tells ProctorFlow what any LMS tells it once: where ProctorFree should
return learners (its quiz page) and where to deliver events; then it reads what it missed.

ProctorFlow may still be starting (dev mode starts everything at once): it is asked again until
it answers or `connect_timeout` passes. A refusal (a wrong token) stops the start at once.
"""

from __future__ import annotations

import asyncio
import logging
import time

from standardwebhooks.webhooks import Webhook

from demo_lms.events import catch_up
from demo_lms.ledger import Ledger
from demo_lms.proctorflow_api import ApiRefused, ApiUnavailable, ProctorFlowApi
from demo_lms.settings import DemoLmsSettings

log = logging.getLogger("demo_lms")


class CannotConnect(Exception):
    """The demo LMS cannot work: the message says why and what to do."""


async def connect(api: ProctorFlowApi, settings: DemoLmsSettings, ledger: Ledger) -> Webhook:
    """The verifier of this start's event deliveries."""
    if not settings.token:
        raise CannotConnect(
            "no API token: set PROCTORFLOW_DEMO_LMS_TOKEN to a ProctorFlow LMS token of the demo organisation"
        )
    deadline = time.monotonic() + settings.connect_timeout
    while True:
        try:
            await api.set_return_url(settings.return_url)
            secret = await api.register_event_endpoint(settings.events_url)
            caught_up = await catch_up(api, ledger)
            break
        except ApiRefused as refused:
            raise CannotConnect(f"ProctorFlow at {settings.api_url} refused: {refused.message}") from None
        except ApiUnavailable as unavailable:
            if time.monotonic() > deadline:
                raise CannotConnect(
                    f"ProctorFlow at {settings.api_url} did not answer within "
                    f"{settings.connect_timeout:.0f}s: {unavailable}"
                ) from None
            await asyncio.sleep(0.5)
    log.info(
        "demo LMS at %s: learners return to %s; events to %s (%d caught up from the feed)",
        settings.base_url,
        settings.return_url,
        settings.events_url,
        caught_up,
    )
    return Webhook(secret)
