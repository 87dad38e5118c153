"""E-mail notices, sent: one workflow per notice, one dispatcher, one daily digest.

The notices' outbox (`store/notices.py`) holds every notice queued. The dispatcher's activity
watches for pending notices and starts each one's workflow, `notice-<notice id>`: one notice is
one workflow, so its tries never overlap. The workflow runs `send_notice`, which Temporal retries
with exponential backoff (`PROCTORFLOW_NOTICE_FIRST_RETRY`, doubling up to
`PROCTORFLOW_NOTICE_MAX_RETRY`) for a day; a notice the SMTP server refused for good, or that was
not accepted within the day, is marked failed with the reason (`proctorflow notices --failed`;
`--send-again ID`). What "never twice" holds to, and what it does not: `activities/notices.py`.

A Temporal Schedule per deployment (`reviewer-digest-<task queue>`, DIGEST_CRON, UTC) runs the
reviewers' digest: one notice per organisation that asked for it, keyed by the day.

Only notice ids (and the day) travel through these histories.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.exceptions import TimeoutError as ActivityTimeout

from workflows.event_delivery import keep_dispatching

with workflow.unsafe.imports_passed_through():
    from activities.notices import REFUSED, NoticeActivities, NoticeFailure

SEND_WINDOW = timedelta(days=1)  # tries of one notice, before it is marked failed
SEND_TIMEOUT = timedelta(minutes=5)  # one try: connect, TLS, login, the message, the answer
SEND_HEARTBEAT = timedelta(seconds=10)  # a killed worker's try is taken over this soon
DATABASE_CALL = timedelta(seconds=30)
DIGEST_CRON = "0 7 * * *"  # every day at 07:00 UTC


class NoticeInput(BaseModel):
    notice_id: str
    first_retry_seconds: float = 10.0  # doubles each try, up to max_retry_seconds
    max_retry_seconds: float = 3600.0


def notice_workflow_id(notice_id: str) -> str:
    return f"notice-{notice_id}"


def digest_schedule_id(task_queue: str) -> str:
    return f"reviewer-digest-{task_queue}"


@workflow.defn
class NoticeWorkflow:
    @workflow.run
    async def run(self, notice: NoticeInput) -> str:
        retry = RetryPolicy(
            initial_interval=timedelta(seconds=notice.first_retry_seconds),
            backoff_coefficient=2.0,
            maximum_interval=timedelta(seconds=notice.max_retry_seconds),
            non_retryable_error_types=[REFUSED],
        )
        try:
            return await workflow.execute_activity(
                NoticeActivities.send_notice,
                notice.notice_id,
                start_to_close_timeout=SEND_TIMEOUT,
                heartbeat_timeout=SEND_HEARTBEAT,
                schedule_to_close_timeout=SEND_WINDOW,
                retry_policy=retry,
            )
        except ActivityError as failed:
            await workflow.execute_activity(
                NoticeActivities.give_up_notice,
                NoticeFailure(notice.notice_id, _reason(failed)),
                start_to_close_timeout=DATABASE_CALL,
            )
            return "failed"


def _reason(failed: ActivityError) -> str:
    cause = failed.cause
    if isinstance(cause, ActivityTimeout):
        return "not accepted by the SMTP server within a day"
    if isinstance(cause, ApplicationError):
        return cause.message  # scrubbed by the activity
    return "not sent"


@workflow.defn
class NoticeDispatchWorkflow:
    """Runs the dispatcher's activity for as long as the worker fleet runs: again when its worker
    stops (on another worker); a worker that dies with it leaves it to another after one missed
    heartbeat."""

    @workflow.run
    async def run(self) -> None:
        await keep_dispatching(NoticeActivities.dispatch_notices)


@workflow.defn
class ReviewerDigestWorkflow:
    """The day's digests (the schedule starts it): queued, for the dispatcher to send."""

    @workflow.run
    async def run(self) -> int:
        day = workflow.now().date().isoformat()
        return await workflow.execute_activity(
            NoticeActivities.queue_digests, day, start_to_close_timeout=timedelta(minutes=2)
        )


NOTICE_WORKFLOWS = [NoticeWorkflow, NoticeDispatchWorkflow, ReviewerDigestWorkflow]
