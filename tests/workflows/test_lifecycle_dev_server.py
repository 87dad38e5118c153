"""One whole attempt on the real Temporal dev server, against the ProctorFree emulator over
HTTP, with no webhooks at all: polling alone carries the learner's FINISH and the audit."""

from __future__ import annotations

from models.api import LessonIn
from models.payloads import DecisionRequest, ExamResult
from tests.support.harness import running_harness
from workflows.attempt import AttemptWorkflow

QUICK = dict(session_poll_interval=1, session_poll_max_interval=1, audit_poll_interval=1)


async def test_full_lifecycle_on_the_dev_server_by_polling_alone(dev_server, tmp_path):
    async with running_harness(dev_server.client, tmp_path, **QUICK) as h:
        h.seed(
            [
                LessonIn(id="intro", title="Welcome", type="video"),
                LessonIn(id="exam", title="Final exam", type="quiz"),
            ],
            {"exam": ("full", True)},
            score_lesson_id="exam",
        )
        h.complete_lesson_directly("intro")
        handle = await h.open("exam")
        session_id = await h.session_id(handle)

        # The learner walks ProctorFree's set-up pages: compatibility, profile, confirm and start.
        page = h.http
        assert "Compatibility" in (await page.get(f"/s/{session_id}/setup")).text
        assert (await page.post(f"/s/{session_id}/setup/compatibility")).status_code == 303
        assert (await page.post(f"/s/{session_id}/profile")).status_code == 303
        started = await page.post(f"/s/{session_id}/start", data={"attest": "on"})
        # No LMS return URL is set: ProctorFree's own "you may close this window" page.
        assert started.status_code == 303 and started.headers["location"] == f"/s/{session_id}/started"

        # The LMS reports the quiz; the learner presses FINISH and confirms.
        await handle.signal(AttemptWorkflow.exam_result, ExamResult(score=95, passed=True))
        assert (await page.post(f"/s/{session_id}/finish")).status_code == 303
        await h.wait_for(handle, lambda s: s.status == "awaiting_audit", timeout=30)
        assert h.task(handle).state == "not_ready"

        # ProctorFree's auditor finishes; the next poll notices.
        await h.emulator("audit", session_id, outcome="clean")
        await h.wait_for(handle, lambda s: s.status == "ready_for_review", timeout=30)
        reply = await handle.execute_update(
            AttemptWorkflow.decide, DecisionRequest(decision="pass", reviewer="rita")
        )
        assert reply.message == "passed; lesson completed, course completed, certificate issued"
        assert (await handle.result())["status"] == "completed"

        events = h.events(handle)
        assert events.index("exam_result") < events.index("decided"), "the quiz result came first"
        assert [event for event in events if event != "exam_result"] == [
            "opened",
            "vendor_session_created",
            "learner_started",
            "learner_finished",
            "awaiting_audit",
            "audit",
            "ready_for_review",
            "decided",
            "lesson_completed",
            "completed",
        ]
        assert h.course_progress().score == 95 and h.certificates() == 1
        assert (await h.stats())["webhooks_sent"] == 0
