"""The attempt's bookkeeping: every step is written to the database by a local activity, in
the workflow's order and under its own sequence number, so a retried write is never doubled.

Steps are written together when the workflow is about to wait (`_flush`): what one workflow
task did is one transaction and one search-attribute update, not one per step. Attempts started
before that change (`ONE_ROUND_TRIP_PER_STEP`) keep writing each step as it happens.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy

from workflows import search_attributes

with workflow.unsafe.imports_passed_through():
    from activities.records import RecordActivities
    from models.payloads import AttemptInput, ReviewTaskChange, StatusChange, StepBatch
    from models.statuses import AttemptStatus, ReviewState

RECORD_TIMEOUT = timedelta(seconds=15)
RECORD_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200), maximum_interval=timedelta(seconds=10)
)
# Running-logic change: one round trip per step of the attempt. Steps are written once per
# wait, not one local activity each, and the ProctorFree session is created by a local
# activity, in the workflow's own task, not through the task queue.
ONE_ROUND_TRIP_PER_STEP = "one-round-trip-per-step"


class Bookkeeping:
    _attempt: AttemptInput
    _status: AttemptStatus  # where the attempt is; written by the next `_flush` at the latest
    _seq: int
    _review_state: ReviewState | None
    _waiting_for: str
    _writes_batched: bool
    _unwritten: StepBatch
    _published: tuple[AttemptStatus | None, ReviewState | None]

    def _show_waiting_for(self, what: str) -> None:
        """What the attempt waits for, in words: the query and Temporal Web's current details."""
        self._waiting_for = what
        workflow.set_current_details(f"Waiting for {what}.")

    async def _wait(self, condition: Callable[[], bool], timeout: timedelta | None = None) -> None:
        """Write what the attempt did so far, then wait (TimeoutError when `timeout` passes)."""
        await self._flush()
        await workflow.wait_condition(condition, timeout=timeout)

    async def _flush(self) -> None:
        """Write the steps taken since the last wait in one transaction, then show the attempt's
        status and review state in Temporal's search attributes."""
        batch = self._unwritten
        if not batch.changes and not batch.reviews:
            return
        self._unwritten = StepBatch()
        await workflow.execute_local_activity_method(
            RecordActivities.record_steps,
            batch,
            start_to_close_timeout=RECORD_TIMEOUT,
            retry_policy=RECORD_RETRY,
        )
        self._publish()

    async def _set_review_state(
        self,
        state: ReviewState,
        flagged: bool = False,
        audit_outcome: str | None = None,
        decided_by: str | None = None,
    ) -> None:
        change = self._review_change(state, flagged, audit_outcome, decided_by)
        if self._writes_batched:
            self._unwritten.reviews.append(change)
            return
        await workflow.execute_local_activity_method(
            RecordActivities.update_review_task,
            change,
            start_to_close_timeout=RECORD_TIMEOUT,
            retry_policy=RECORD_RETRY,
        )

    def _review_change(
        self,
        state: ReviewState,
        flagged: bool = False,
        audit_outcome: str | None = None,
        decided_by: str | None = None,
    ) -> ReviewTaskChange:
        """The review task's next state (written by the caller)."""
        self._review_state = state
        if not self._writes_batched:
            workflow.upsert_search_attributes([search_attributes.REVIEW_STATE.value_set(state.value)])
        return ReviewTaskChange(
            attempt_id=self._attempt.attempt_id,
            state=state,
            at=workflow.now(),
            flagged=flagged,
            audit_outcome=audit_outcome,
            decided_by=decided_by,
        )

    async def _move(self, status: AttemptStatus, event: str, **kwargs: Any) -> None:
        if self._writes_batched:
            self._unwritten.changes.append(self._next_change(event, status=status, **kwargs))
            self._status = status
            return
        await self._record(event, status=status, **kwargs)
        self._show_status(status)

    async def _note(self, event: str, detail: dict[str, Any]) -> None:
        if self._writes_batched:
            self._unwritten.changes.append(self._next_change(event, detail=detail))
            return
        await self._record(event, detail=detail)

    async def _record(self, event: str, **kwargs: Any) -> None:
        await workflow.execute_local_activity_method(
            RecordActivities.record_change,
            self._next_change(event, **kwargs),
            start_to_close_timeout=RECORD_TIMEOUT,
            retry_policy=RECORD_RETRY,
        )

    def _next_change(self, event: str, **kwargs: Any) -> StatusChange:
        """The next step under the next sequence number (the caller writes it)."""
        self._seq += 1
        return StatusChange(
            attempt_id=self._attempt.attempt_id,
            seq=self._seq,
            history_length=workflow.info().get_current_history_length(),
            event=event,
            at=workflow.now(),
            **kwargs,
        )

    def _show_status(self, status: AttemptStatus) -> None:
        """After the write: what a query and Temporal's search attributes show, the database has."""
        self._status = status
        if self._writes_batched:
            self._publish()
            return
        workflow.upsert_search_attributes([search_attributes.ATTEMPT_STATUS.value_set(status.value)])

    def _publish(self) -> None:
        """Temporal's search attributes catch up with the written status and review state."""
        status, review = self._published
        updates = []
        if self._status != status:
            updates.append(search_attributes.ATTEMPT_STATUS.value_set(self._status.value))
        if self._review_state is not None and self._review_state != review:
            updates.append(search_attributes.REVIEW_STATE.value_set(self._review_state.value))
        if updates:
            workflow.upsert_search_attributes(updates)
        self._published = (self._status, self._review_state)
