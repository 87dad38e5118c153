"""The attempt's bookkeeping: every step is written to the database by a local activity, in
the workflow's order and under its own sequence number, so a retried write is never doubled.

Steps are queued as the workflow takes them and written together when it is about to wait
(`_flush`): what one workflow task did is one transaction and one search-attribute update.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

from workflows import search_attributes

with workflow.unsafe.imports_passed_through():
    from activities import errors
    from activities.records import RecordActivities
    from models.payloads import AttemptInput, AttemptState, ReviewTaskChange, StatusChange, StepBatch
    from models.review_ops import due_at
    from models.statuses import AttemptStatus, ReviewState, StepEvent
    from proctorflow import metrics

RECORD_TIMEOUT = timedelta(seconds=15)  # longer than a lock wait (store.db.LOCK_WAIT_MS)
# A database that is down is waited out: quick retries first, then (past RETRY_BY_TIMER) each
# retry waits on a durable timer, so a long outage costs a few history events a retry instead of
# a workflow task every few seconds. A write refused outright is not retried (WRITE_REFUSALS).
RECORD_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200),
    maximum_interval=timedelta(minutes=5),
    non_retryable_error_types=list(errors.WRITE_REFUSALS),
)
RETRY_BY_TIMER = timedelta(seconds=5)
# After this long the write waits for ops (`proctorflow resume`) instead.
RECORD_GIVE_UP = timedelta(days=1)


class Bookkeeping:
    _attempt: AttemptInput
    _state: AttemptState  # the attempt's facts; its status is written by the next `_flush` at the latest
    _seq: int
    _unwritten: StepBatch
    _published: tuple[AttemptStatus | None, ReviewState | None]
    _published_ops: tuple[str | None, datetime | None]  # ReviewAssignee, ReviewDueAt as last shown
    _resume_requested: bool  # ops fixed what the attempt waits on (`resume` signal)

    def _show_waiting_for(self, what: str) -> None:
        """What the attempt waits for, in words: the query and Temporal Web's current details."""
        self._state.waiting_for = what
        workflow.set_current_details(f"Waiting for {what}.")

    async def _wait(self, condition: Callable[[], bool], timeout: timedelta | None = None) -> None:
        """Write what the attempt did so far, then wait (TimeoutError when `timeout` passes)."""
        await self._flush()
        await workflow.wait_condition(condition, timeout=timeout)

    async def _flush(self) -> None:
        """Write the steps taken since the last wait in one transaction, then show the attempt's
        status and review state in Temporal's search attributes."""
        while self._unwritten.changes or self._unwritten.reviews:
            batch, self._unwritten = self._unwritten, StepBatch()
            try:
                await self._write(RecordActivities.record_steps, batch)
            except asyncio.CancelledError:
                # Ops cancelled while the batch was being written: it is written again (each
                # step idempotent) before the cancellation's own step.
                self._unwritten = StepBatch(
                    changes=batch.changes + self._unwritten.changes,
                    reviews=batch.reviews + self._unwritten.reviews,
                )
                raise
        self._publish()

    async def _write(self, activity: Any, payload: Any) -> Any:
        """One local-activity write. A write the database refuses outright, or one that failed
        for a day, waits for ops to fix it and `resume`, then is tried again; a write refused
        because a newer run of this workflow rewrote the attempt ends this run."""
        while True:
            try:
                return await workflow.execute_local_activity_method(
                    activity,
                    payload,
                    start_to_close_timeout=RECORD_TIMEOUT,
                    schedule_to_close_timeout=RECORD_GIVE_UP,
                    retry_policy=RECORD_RETRY,
                    local_retry_threshold=RETRY_BY_TIMER,
                )
            except (ActivityError, ApplicationError) as failure:
                # A local activity's failure reaches the workflow unwrapped, or wrapped when retries ran out.
                cause = failure.cause if isinstance(failure, ActivityError) else failure
                reason = cause.message if isinstance(cause, ApplicationError) else str(cause or failure)
                if isinstance(cause, ApplicationError) and cause.type == errors.RESET_REFUSED:
                    raise ApplicationError(reason, type=errors.RESET_REFUSED, non_retryable=True) from None
                await self._wait_for_ops(f"the database refused a step: {reason}")

    async def _wait_for_ops(self, reason: str) -> None:
        """Shown as `error` in Temporal (the database could not take the step that says so) until
        ops fix the cause and send `resume`."""
        workflow.metric_meter().create_counter(metrics.PARKED).add(1)
        waiting_for = self._state.waiting_for
        self._show_waiting_for(f"ops to fix this and resume ({reason})")
        workflow.upsert_search_attributes(
            [search_attributes.ATTEMPT_STATUS.value_set(AttemptStatus.ERROR.value)]
        )
        self._published = (AttemptStatus.ERROR, self._published[1])
        self._resume_requested = False
        await workflow.wait_condition(lambda: self._resume_requested)
        self._show_waiting_for(waiting_for)

    def _move(self, status: AttemptStatus, event: StepEvent, **kwargs: Any) -> None:
        """The attempt moves to `status`: a step queued for the next write."""
        self._unwritten.changes.append(self._next_change(event, status=status, **kwargs))
        self._state.status = status

    def _note(self, event: StepEvent, detail: dict[str, Any] | None = None) -> None:
        """Something happened that moves no status: a step queued for the next write."""
        self._unwritten.changes.append(self._next_change(event, detail=detail or {}))

    def _set_review_state(
        self,
        state: ReviewState,
        flagged: bool = False,
        audit_outcome: str | None = None,
    ) -> None:
        """The review task moves to `state`: queued for the next write."""
        self._unwritten.reviews.append(self._review_change(state, flagged, audit_outcome))

    def _review_change(
        self,
        state: ReviewState,
        flagged: bool = False,
        audit_outcome: str | None = None,
        decided_by: str | None = None,
    ) -> ReviewTaskChange:
        """The review task's next state (written by the caller), with its operational facts:
        the deadline starts when it is first ready."""
        self._state.review_state = state
        ops = self._state.review_ops
        if state == ReviewState.READY_FOR_REVIEW and ops.due_at is None:
            ops.due_at = due_at(workflow.now(), self._attempt.review_policy.sla_hours)
        return ReviewTaskChange(
            attempt_id=self._attempt.attempt_id,
            state=state,
            at=workflow.now(),
            flagged=flagged,
            audit_outcome=audit_outcome,
            decided_by=decided_by,
            ops=ops.model_copy(deep=True),
        )

    def _next_change(self, event: StepEvent, **kwargs: Any) -> StatusChange:
        """The next step under the next sequence number (the caller writes it)."""
        self._seq += 1
        return StatusChange(
            attempt_id=self._attempt.attempt_id,
            seq=self._seq,
            history_length=workflow.info().get_current_history_length(),
            run_id=workflow.info().run_id,
            event=event,
            at=workflow.now(),
            **kwargs,
        )

    def _publish(self) -> None:
        """After a write: Temporal's search attributes catch up with the written status and
        review state, so what a query and Temporal Web show, the database has."""
        status, review = self._published
        current = self._state
        updates = []
        if current.status != status:
            updates.append(search_attributes.ATTEMPT_STATUS.value_set(current.status.value))
        if current.review_state is not None and current.review_state != review:
            updates.append(search_attributes.REVIEW_STATE.value_set(current.review_state.value))
        updates += self._review_ops_updates()
        if updates:
            workflow.upsert_search_attributes(updates)
        self._published = (current.status, current.review_state)

    def _review_ops_updates(self) -> list[Any]:
        """`ReviewAssignee` and `ReviewDueAt`, when they changed since they were last shown."""
        ops, (assignee, due) = self._state.review_ops, self._published_ops
        updates: list[Any] = []
        if ops.assignee != assignee:
            key = search_attributes.REVIEW_ASSIGNEE
            updates.append(key.value_set(ops.assignee) if ops.assignee else key.value_unset())
        if ops.due_at != due and ops.due_at is not None:
            updates.append(search_attributes.REVIEW_DUE_AT.value_set(ops.due_at))
        self._published_ops = (ops.assignee, ops.due_at)
        return updates
