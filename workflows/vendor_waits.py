"""Talking to ProctorFree from the workflow: one-off calls that park the attempt in `error`
when ProctorFree refuses the credentials, and waits that a webhook (signal) ends at once while
Temporal's infrequent polling stands in for lost webhooks."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

from workflows.bookkeeping import RETRY_BY_TIMER, Bookkeeping

with workflow.unsafe.imports_passed_through():
    from activities import errors
    from models.payloads import VendorCall
    from models.rules import time_limit
    from models.statuses import AttemptStatus, StepEvent
    from proctorflow import metrics

VENDOR_CALL_TIMEOUT = timedelta(seconds=30)
VENDOR_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
    non_retryable_error_types=list(errors.PARKING),
)


# The last look before a window closes (FINISH, the audit): one question, retried only while
# ProctorFree is briefly unavailable.
LAST_CHECK_TIMEOUT = timedelta(minutes=2)
LAST_CHECK_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(seconds=20),
    non_retryable_error_types=[errors.NOT_YET, *errors.PARKING],
)


class VendorWaits(Bookkeeping):
    _check_now: bool
    _extra_minutes: int  # added by staff (`extend`) to the session's allowed minutes

    async def _on_wake(self) -> None:
        """Called whenever a wait wakes up: the workflow records what changed."""

    def _start_poll(
        self, activity: Any, deadline: datetime, interval: timedelta, longest: timedelta | None = None
    ) -> workflow.ActivityHandle[Any]:
        """Temporal's infrequent polling: the activity fails until the vendor is ready and the
        retry policy is the poll interval (growing to `longest`), so the history does not grow
        with the polls."""
        longest = max(longest or interval, interval)
        remaining = max(deadline - workflow.now(), timedelta(seconds=1))
        return workflow.start_activity_method(
            activity,
            self._vendor_call(),
            start_to_close_timeout=VENDOR_CALL_TIMEOUT,
            schedule_to_close_timeout=remaining,
            retry_policy=RetryPolicy(
                initial_interval=interval,
                backoff_coefficient=1.0 if longest == interval else 2.0,
                maximum_interval=longest,
                non_retryable_error_types=list(errors.PARKING),
            ),
        )

    async def _until(
        self,
        done: Callable[[], bool],
        start_poll: Callable[[], workflow.ActivityHandle[Any]],
        on_polled: Callable[[Any], None],
        *,
        first_poll_at: datetime,
        limit: Callable[[], datetime | None] = lambda: None,
    ) -> str:
        """Wait until `done()`: a signal makes it true, or the poll activity finds the vendor
        ready and `on_polled` records what it found. No poll runs before `first_poll_at`: the
        vendor cannot be ready the moment the wait begins, and a webhook usually comes first.

        Returns "done", "deadline" (the poll ran out of time) or "limit" (`limit()` passed). Ops
        can make it ask the vendor at once (`check_vendor_now`) instead of at the next interval.
        """
        outcome = await self._race(done, None, limit, quiet_until=first_poll_at)
        if outcome in ("done", "limit"):
            return outcome
        while not done():
            poll = start_poll()
            try:
                outcome = await self._race(done, poll, limit)
            finally:
                await _cancel(poll)
            if outcome == "again":
                continue  # ops asked to check the vendor now: a fresh poll asks at once
            if outcome != "polled":
                return outcome
            try:
                on_polled(poll.result())
            except ActivityError as failure:
                if not _parks(failure):
                    return "deadline"  # the retries ran out of time, whatever the last one saw
                await self._park(_reason(failure))
        return "done"

    async def _race(
        self,
        done: Any,
        poll: workflow.ActivityHandle[Any] | None,
        limit: Any,
        quiet_until: datetime | None = None,
    ) -> str:
        """Wait for whichever comes first: "done", "polled" (the poll ended), "again" (ops asked
        to check now), "limit" (`limit()` passed) or "quiet" (`quiet_until` passed)."""
        while True:
            await self._on_wake()
            limit_at = limit()
            ends = [end for end in (limit_at, quiet_until) if end is not None]
            timeout = max(min(ends) - workflow.now(), timedelta(0)) if ends else None
            was_started = self._state.started
            try:
                await self._wait(
                    lambda was=was_started, was_limit=limit_at: (
                        done()
                        or (poll is not None and poll.done())
                        or self._state.started != was
                        or self._check_now
                        or limit() != was_limit  # staff extended the session: wait anew
                    ),
                    timeout=timeout,
                )
            except TimeoutError:
                return "limit" if limit_at is not None and workflow.now() >= limit_at else "quiet"
            if done():
                return "done"
            if self._check_now:
                self._check_now = False
                return "again"
            if poll is not None and poll.done():
                return "polled"

    async def _vendor(self, activity: Any, local: bool = False) -> Any:
        """A one-off vendor call; a refusal parks the attempt until ops resume it. A `local` one
        runs in the workflow's own task: no task-queue round trip, no extra workflow task."""
        await self._flush()
        while True:
            try:
                if local:
                    # Backoffs past RETRY_BY_TIMER wait on durable timers: a long outage does not
                    # keep the workflow task alive (and its history growing) for its whole length.
                    return await workflow.execute_local_activity_method(
                        activity,
                        self._vendor_call(),
                        start_to_close_timeout=VENDOR_CALL_TIMEOUT,
                        retry_policy=VENDOR_RETRY,
                        local_retry_threshold=RETRY_BY_TIMER,
                    )
                return await workflow.execute_activity_method(
                    activity,
                    self._vendor_call(),
                    start_to_close_timeout=VENDOR_CALL_TIMEOUT,
                    retry_policy=VENDOR_RETRY,
                )
            except (ActivityError, ApplicationError) as failure:
                # A local activity's failure reaches the workflow unwrapped, a remote one's wrapped.
                await self._park(_reason(failure))

    async def _last_check(self, activity: Any) -> Any | None:
        """Ask ProctorFree once more before a window closes: its answer, or None when it is not
        there yet (or ProctorFree could not say)."""
        await self._flush()
        try:
            return await workflow.execute_activity_method(
                activity,
                self._vendor_call(),
                start_to_close_timeout=VENDOR_CALL_TIMEOUT,
                schedule_to_close_timeout=LAST_CHECK_TIMEOUT,
                retry_policy=LAST_CHECK_RETRY,
            )
        except ActivityError:
            return None

    async def _until_deadline(self, done: Callable[[], bool], deadline: datetime) -> None:
        """Wait for a webhook until `deadline` itself: Temporal retries no poll past its
        schedule-to-close, so the polls stop up to one interval short of it."""
        if not done() and workflow.now() < deadline:
            with contextlib.suppress(TimeoutError):
                await self._wait(done, timeout=deadline - workflow.now())

    async def _try_vendor(self, activity: Any) -> str | None:
        """A vendor call that must not hold the attempt up (closing a cancelled attempt's
        session): None when it went through, else why not. It never parks."""
        await self._flush()
        try:
            await workflow.execute_activity_method(
                activity,
                self._vendor_call(),
                start_to_close_timeout=VENDOR_CALL_TIMEOUT,
                schedule_to_close_timeout=LAST_CHECK_TIMEOUT,
                retry_policy=LAST_CHECK_RETRY,
            )
        except ActivityError as failure:
            return _reason(failure)
        return None

    async def _park(self, reason: str) -> None:
        """ProctorFree refused us: the attempt waits in `error` until ops fix it and resume."""
        parked_from, waiting_for = self._state.status, self._state.waiting_for
        workflow.metric_meter().create_counter(metrics.PARKED).add(1)
        self._move(AttemptStatus.ERROR, StepEvent.PARKED, detail={"reason": reason}, error_reason=reason)
        self._show_waiting_for(f"ops to fix the integration and resume ({reason})")
        self._resume_requested = False
        await self._wait(lambda: self._resume_requested)
        self._move(parked_from, StepEvent.RESUMED)
        self._show_waiting_for(waiting_for)

    def _vendor_call(self) -> VendorCall:
        return VendorCall(
            attempt_id=self._attempt.attempt_id,
            integration_id=self._attempt.integration_id,
            session_id=self._state.vendor_session_id,
            time_limit_minutes=self._time_limit_minutes(),
        )

    def _time_limit_minutes(self) -> int | None:
        """The learner's minutes at ProctorFree: those the attempt opened with (the lesson's
        limit and the accommodation then in force), plus what staff added since."""
        allowed = self._attempt.allowed_minutes
        if allowed is None:
            practice = time_limit(self._attempt.method)  # practice has its 20 minutes regardless
            allowed = int(practice.total_seconds() // 60) if practice else None
        return None if allowed is None else allowed + self._extra_minutes


async def _cancel(handle: workflow.ActivityHandle[Any]) -> None:
    """Stop a poll that is no longer needed, and wait until Temporal has taken note."""
    if handle.done():
        return
    handle.cancel()
    with contextlib.suppress(ActivityError, asyncio.CancelledError):
        await handle


def _parks(failure: ActivityError) -> bool:
    cause = failure.cause
    return isinstance(cause, ApplicationError) and cause.type in errors.PARKING


def _reason(failure: ActivityError | ApplicationError) -> str:
    cause = failure.cause if isinstance(failure, ActivityError) else failure
    return cause.message if isinstance(cause, ApplicationError) else str(cause or failure)
