"""The LMS HTTP API, v1: every call but the vendor's webhook is authorised by the LMS's token."""

from fastapi import APIRouter, Depends

from web.api import (
    accommodations,
    attempts,
    audit_log,
    completions,
    courses,
    events,
    integrations,
    organisation,
    progress,
    reports,
    review_tasks,
    settings,
    tokens,
    webhooks,
)
from web.auth import lms_caller

router = APIRouter()
RESOURCES = (
    organisation,
    integrations,
    courses,
    accommodations,
    attempts,
    review_tasks,
    reports,
    progress,
    completions,
    webhooks,
    events,
    tokens,
    settings,
    audit_log,
)
for resource in RESOURCES:
    # Every call an LMS token authorises notes who calls, for the audit log (`lms_caller`).
    by_token = [] if resource is webhooks else [Depends(lms_caller)]
    router.include_router(resource.router, dependencies=by_token)
