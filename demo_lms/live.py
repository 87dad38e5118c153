"""What the pages poll to change live: small JSON answers built from the events the demo LMS
received (its ledger), never from ProctorFlow's database.

Each answer says which page parts to change (`text` by `data-live` key), which to show or hide
(`show`), which links to point where (`links`), and the learner's events in this course, newest
first; `static/live.js` applies it. The one thing events do not carry is ProctorFree's set-up
link: it is asked of the API until the attempt has one.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from demo_lms.learners import DemoLearner
from demo_lms.ledger import LearnerCourse, Ledger
from demo_lms.proctorflow_api import ProctorFlowApi
from demo_lms.rendering import Refusal, signed_in
from demo_lms.words import describe, event_words, lesson_words, stage

router = APIRouter(prefix="/live", include_in_schema=False)

STAGES = ("setup", "in_progress", "done")


class Attempts:
    """What the demo LMS remembers of the attempts its pages opened: whose each is, and the
    set-up link once ProctorFlow has one."""

    def __init__(self) -> None:
        self.owner: dict[str, tuple[str, str]] = {}  # attempt id -> (learner id, course id)
        self.setup_url: dict[str, str] = {}

    def remember(self, attempt: dict[str, Any], learner_id: str, course_id: str) -> None:
        self.owner[attempt["attempt_id"]] = (learner_id, course_id)
        if attempt.get("setup_url"):
            self.setup_url[attempt["attempt_id"]] = attempt["setup_url"]

    async def course_of(self, api: ProctorFlowApi, attempt_id: str, learner: DemoLearner) -> str:
        """The attempt's course, when it is this learner's; else a 404 refusal."""
        if attempt_id not in self.owner or attempt_id not in self.setup_url:
            attempt = await api.attempt(attempt_id)
            self.remember(attempt, attempt["learner_id"], attempt["course_id"])
        owner, course_id = self.owner[attempt_id]
        if owner != learner.id:
            raise Refusal(404, f"attempt {attempt_id} is not {learner.name}'s")
        return course_id


@router.get("/courses/{course_id}")
async def course_now(request: Request, course_id: str, learner: DemoLearner = Depends(signed_in)) -> dict:
    record = _ledger(request).of(course_id, learner.id)
    text: dict[str, str] = {}
    for lesson_id, fact in record.lessons.items():
        text[f"lesson:{lesson_id}:completion"] = lesson_words(fact.values)
    for lesson_id, status in _latest_status_by_lesson(record).items():
        text[f"lesson:{lesson_id}:attempt"] = describe(status)[0]
    text.update(_course_text(record))
    return {"text": text, "show": {}, "links": {}, "events": _events(record)}


@router.get("/attempts/{attempt_id}")
async def attempt_now(request: Request, attempt_id: str, learner: DemoLearner = Depends(signed_in)) -> dict:
    attempts: Attempts = request.app.state.attempts
    course_id = await attempts.course_of(request.app.state.api, attempt_id, learner)
    record = _ledger(request).of(course_id, learner.id)
    text: dict[str, str] = {}
    show: dict[str, bool] = {}
    fact = record.attempts.get(attempt_id)
    if fact is not None:
        status = str(fact.values.get("status"))
        text["status:headline"], text["status:explanation"] = describe(status)
        show.update({f"stage:{name}": stage(status) == name for name in STAGES})
        lesson = record.lessons.get(str(fact.values.get("lesson_id")))
        if lesson is not None:
            text["lesson:completion"] = lesson_words(lesson.values)
    setup_url = attempts.setup_url.get(attempt_id)
    show["setup:ready"], show["setup:waiting"] = setup_url is not None, setup_url is None
    text.update(_course_text(record))
    links = {"setup:link": setup_url} if setup_url else {}
    return {"text": text, "show": show, "links": links, "events": _events(record)}


def _ledger(request: Request) -> Ledger:
    return request.app.state.ledger


def _latest_status_by_lesson(record: LearnerCourse) -> dict[str, str]:
    latest: dict[str, tuple[int, str]] = {}
    for fact in record.attempts.values():
        lesson_id, number = str(fact.values.get("lesson_id")), int(fact.values.get("attempt_number") or 0)
        if lesson_id not in latest or number >= latest[lesson_id][0]:
            latest[lesson_id] = (number, str(fact.values.get("status")))
    return {lesson_id: status for lesson_id, (_, status) in latest.items()}


def _course_text(record: LearnerCourse) -> dict[str, str]:
    text = {}
    if record.course is not None:
        text["course:completion"] = "completed" if record.course.values["completed"] else "not completed"
    if record.certificate is not None:
        text["course:certificate"] = "issued" if record.certificate.values["issued"] else "revoked"
    return text


def _events(record: LearnerCourse) -> list[dict[str, str]]:
    return [
        {
            "id": event.id,
            "type": event.type,
            "summary": event_words(event.type, event.data),
            "at": event.received_at.strftime("%H:%M:%S"),
        }
        for event in reversed(record.events)
    ]
