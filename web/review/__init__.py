"""The reviewer UI under /review: login, the Proctoring Review task list, one task's page with
Pass / Fail, a learner's course progress with its proctoring column editable, each course's
accommodations (one by one or from a CSV file), and one attempt's page with the staff actions.

Server-rendered pages that work without JavaScript; every page needs a signed-in reviewer, who
sees their own organisation's data only.
"""

from fastapi.responses import RedirectResponse

from web.review import accommodations, attempts, auth, progress, tasks
from web.review.auth import HOME, review_router

router = review_router()


@router.get("/")
async def home() -> RedirectResponse:
    return RedirectResponse(HOME, 303)


router.include_router(auth.router)
router.include_router(tasks.router)
router.include_router(progress.router)
router.include_router(accommodations.router)
router.include_router(attempts.router)
