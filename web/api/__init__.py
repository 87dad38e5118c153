"""The LMS HTTP API, v1: every call but the vendor's webhook is authorised by the LMS's token."""

from fastapi import APIRouter

from web.api import attempts, courses, integrations, progress, review_tasks, webhooks

router = APIRouter()
for resource in (integrations, courses, attempts, review_tasks, progress, webhooks):
    router.include_router(resource.router)
