"""Ops find attempts in Temporal by course, lesson, learner, method and state."""

from __future__ import annotations

import asyncio
import uuid

from cli.find import learner_query
from models.api import LessonIn
from proctorflow.temporal import pseudonym_keys
from tests.support.harness import running_harness
from workflows.attempt import AttemptWorkflow
from workflows.search_attributes import LEARNER_ID, learner_pseudonym

QUICK = dict(session_poll_interval=1, session_poll_max_interval=1, audit_poll_interval=1)


async def find(client, query: str, expected: int, timeout: float = 20.0) -> list:
    """Visibility is eventually consistent: ask until the expected count shows."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        found = [w async for w in client.list_workflows(query)]
        if len(found) == expected or asyncio.get_running_loop().time() > deadline:
            return found
        await asyncio.sleep(0.2)


async def test_an_attempt_is_found_by_course_and_status_and_shows_what_it_waits_for(dev_server, tmp_path):
    course = f"course-{uuid.uuid4().hex[:8]}"
    async with running_harness(dev_server.client, tmp_path, **QUICK) as h:
        h.seed(
            [LessonIn(id="exam", title="Final exam", type="quiz")],
            {"exam": ("record_only", True)},
            course_id=course,
        )
        waiting = await h.open("exam", course_id=course, learner_id="learner-a")
        other = await h.open("exam", course_id=course, learner_id="learner-b")
        await h.session_id(other)
        await h.learner_takes_exam(waiting)
        await h.wait_for(waiting, lambda s: s.status == "ready_for_review")

        ready = await find(h.client, f"CourseId = '{course}' AND AttemptStatus = 'ready_for_review'", 1)
        assert [w.id for w in ready] == [waiting.id]
        assert ready[0].typed_search_attributes is not None
        setup = await find(h.client, f"CourseId = '{course}' AND AttemptStatus = 'awaiting_setup'", 1)
        assert [w.id for w in setup] == [other.id]
        # LearnerId holds a keyed pseudonym (`proctorflow find --learner` prints the query), never the id.
        _, query = learner_query(h.settings, "learner-a")
        by_learner = await find(h.client, f"{query} AND CourseId = '{course}'", 1)
        assert [w.id for w in by_learner] == [waiting.id]
        assert not await find(h.client, f"LearnerId = 'learner-a' AND CourseId = '{course}'", 0, timeout=0)
        pseudonym = ready[0].typed_search_attributes.get(LEARNER_ID)
        assert pseudonym == learner_pseudonym(pseudonym_keys(h.settings)[0], "learner-a") != "learner-a"
        review = await find(h.client, f"CourseId = '{course}' AND ReviewState = 'ready_for_review'", 1)
        assert [w.id for w in review] == [waiting.id]

        description = await waiting.describe()
        assert await description.static_summary() == (
            f"record_only proctoring: course {course}, lesson exam, learner learner-a, attempt 1"
        )
        metadata = await waiting.query(AttemptWorkflow.state)
        assert metadata.waiting_for == "a reviewer to pass or fail the proctoring"
