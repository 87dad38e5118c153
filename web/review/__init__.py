"""The reviewer UI under /review: login, the Proctoring Review task list (all, mine, unassigned,
overdue), one task's page with claiming and Pass / Fail, a learner's course progress with its
proctoring column editable, each course's accommodations (one by one or from a CSV file), one
attempt's page with the staff actions, the CSV exports of attempts and decisions, and the
organisation's audit log.

Server-rendered pages that work without JavaScript; every page needs a signed-in reviewer, who
sees their own organisation's data only.
"""

from fastapi.responses import RedirectResponse

from web.review import accommodations, attempts, audit_log, auth, claims, progress, reports, tasks
from web.review.auth import HOME, review_router

router = review_router()


@router.get("/")
async def home() -> RedirectResponse:
    return RedirectResponse(HOME, 303)


router.include_router(auth.router)
router.include_router(tasks.router)
router.include_router(claims.router)
router.include_router(progress.router)
router.include_router(accommodations.router)
router.include_router(attempts.router)
router.include_router(reports.router)
router.include_router(audit_log.router)
