"""The LMS HTTP API, v1: every call but the vendor's webhook is authorised by the LMS's token."""

from fastapi import APIRouter

from web.api import (
    accommodations,
    attempts,
    completions,
    courses,
    events,
    integrations,
    organisation,
    progress,
    review_tasks,
    tokens,
    webhooks,
)

router = APIRouter()
RESOURCES = (
    organisation,
    integrations,
    courses,
    accommodations,
    attempts,
    review_tasks,
    progress,
    completions,
    webhooks,
    events,
    tokens,
)
for resource in RESOURCES:
    router.include_router(resource.router)
