"""One notice's workflow (`workflows/notices.py`) on the time-skipping server, its activities
stubbed at the edge (the SMTP server and the notices' table): retried with backoff until the
server accepts, failed at once when refused for good, failed when not accepted within a day.

Each test records its history for `test_replay.py` (PROCTORFLOW_RECORD_HISTORIES=1).
tests/notices/test_delivery.py tells the same stories through the real activities, database and
an aiosmtpd server on the dev server."""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from temporalio import activity
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

from activities.notices import NOT_SENT, REFUSED, NoticeFailure
from tests.workflows.event_stubs import record_history
from workflows.notices import SEND_WINDOW, NoticeInput, NoticeWorkflow, notice_workflow_id

ALWAYS = math.inf


@dataclass
class SmtpStub:
    """The SMTP server and the notices' table, in memory: refuses `refusals` tries (for good when
    `for_good`), then accepts."""

    refusals: float = 0
    for_good: bool = False
    tries: list[datetime] = field(default_factory=list)
    given_up: list[NoticeFailure] = field(default_factory=list)

    def activities(self) -> list:
        @activity.defn(name="send_notice")
        async def send_notice(notice_id: str) -> str:
            self.tries.append(activity.info().started_time)
            if len(self.tries) <= self.refusals:
                if self.for_good:
                    raise ApplicationError(
                        "the server refused every recipient (550)", type=REFUSED, non_retryable=True
                    )
                raise ApplicationError(
                    "the server could not be reached (ConnectionRefusedError)", type=NOT_SENT
                )
            return "sent"

        @activity.defn(name="give_up_notice")
        async def give_up_notice(failure: NoticeFailure) -> None:
            self.given_up.append(failure)

        return [send_notice, give_up_notice]


async def run_notice(env, smtp: SmtpStub, name: str) -> str:
    task_queue = f"notices-{uuid.uuid4().hex[:10]}"
    async with Worker(
        env.client, task_queue=task_queue, workflows=[NoticeWorkflow], activities=smtp.activities()
    ):
        handle = await env.client.start_workflow(
            NoticeWorkflow.run,
            NoticeInput(notice_id="learner_decided:a1"),
            id=notice_workflow_id("learner_decided:a1"),
            task_queue=task_queue,
        )
        result = await handle.result()
        await record_history(handle, name)
    return result


def waits(tries: list[datetime]) -> list[int]:
    return [round((b - a).total_seconds()) for a, b in zip(tries, tries[1:], strict=False)]


async def test_a_notice_is_tried_again_with_backoff_until_the_server_accepts_it(time_skipping):
    smtp = SmtpStub(refusals=3)
    assert await run_notice(time_skipping, smtp, "notice_sent_after_retries") == "sent"
    assert waits(smtp.tries) == [10, 20, 40]  # PROCTORFLOW_NOTICE_FIRST_RETRY's 10 s, doubling
    assert smtp.given_up == []


async def test_a_notice_refused_for_good_fails_at_once_with_the_reason(time_skipping):
    smtp = SmtpStub(refusals=ALWAYS, for_good=True)
    assert await run_notice(time_skipping, smtp, "notice_refused_for_good") == "failed"
    assert len(smtp.tries) == 1
    assert smtp.given_up == [NoticeFailure("learner_decided:a1", "the server refused every recipient (550)")]


async def test_a_notice_not_accepted_within_a_day_fails(time_skipping):
    smtp = SmtpStub(refusals=ALWAYS)
    assert await run_notice(time_skipping, smtp, "notice_given_up_after_the_window") == "failed"
    (failure,) = smtp.given_up
    assert failure.notice_id == "learner_decided:a1"
    assert failure.reason in (
        "not accepted by the SMTP server within a day",
        "the server could not be reached (ConnectionRefusedError)",
    )
    window = smtp.tries[-1] - smtp.tries[0]
    assert timedelta(hours=22) <= window <= SEND_WINDOW, window
    # Backed off from 10 s, doubling, to hourly (PROCTORFLOW_NOTICE_MAX_RETRY).
    assert waits(smtp.tries)[:9] == [10 * 2**n for n in range(9)]
    assert set(waits(smtp.tries)[10:]) == {3600}
