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

from workflows.bookkeeping import Bookkeeping

with workflow.unsafe.imports_passed_through():
    from activities import errors
    from models.payloads import VendorCall
    from models.statuses import AttemptStatus, StepEvent
    from proctorflow import metrics

VENDOR_CALL_TIMEOUT = timedelta(seconds=30)
VENDOR_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
    non_retryable_error_types=list(errors.PARKING),
)


class VendorWaits(Bookkeeping):
    _resume_requested: bool
    _check_now: bool

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
                    lambda was=was_started: (
                        done()
                        or (poll is not None and poll.done())
                        or self._state.started != was
                        or self._check_now
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
        execute = workflow.execute_local_activity_method if local else workflow.execute_activity_method
        while True:
            try:
                return await execute(
                    activity,
                    self._vendor_call(),
                    start_to_close_timeout=VENDOR_CALL_TIMEOUT,
                    retry_policy=VENDOR_RETRY,
                )
            except (ActivityError, ApplicationError) as failure:
                # A local activity's failure reaches the workflow unwrapped, a remote one's wrapped.
                await self._park(_reason(failure))

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
        )


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
