"""The LMS HTTP API, v1: every call but the vendor's webhook is authorised by the LMS's token."""

from fastapi import APIRouter

from web.api import attempts, courses, events, integrations, progress, review_tasks, webhooks

router = APIRouter()
for resource in (integrations, courses, attempts, review_tasks, progress, webhooks, events):
    router.include_router(resource.router)
