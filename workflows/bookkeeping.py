"""The attempt's bookkeeping: every step is written to the database by a local activity, in
the workflow's order and under its own sequence number, so a retried write is never doubled.

Steps are queued as the workflow takes them and written together when it is about to wait
(`_flush`): what one workflow task did is one transaction and one search-attribute update.
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
    from models.payloads import AttemptInput, AttemptState, ReviewTaskChange, StatusChange, StepBatch
    from models.statuses import AttemptStatus, ReviewState, StepEvent

RECORD_TIMEOUT = timedelta(seconds=15)
RECORD_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200), maximum_interval=timedelta(seconds=10)
)


class Bookkeeping:
    _attempt: AttemptInput
    _state: AttemptState  # the attempt's facts; its status is written by the next `_flush` at the latest
    _seq: int
    _unwritten: StepBatch
    _published: tuple[AttemptStatus | None, ReviewState | None]

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
        """The review task's next state (written by the caller)."""
        self._state.review_state = state
        return ReviewTaskChange(
            attempt_id=self._attempt.attempt_id,
            state=state,
            at=workflow.now(),
            flagged=flagged,
            audit_outcome=audit_outcome,
            decided_by=decided_by,
        )

    def _next_change(self, event: StepEvent, **kwargs: Any) -> StatusChange:
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
        if updates:
            workflow.upsert_search_attributes(updates)
        self._published = (current.status, current.review_state)
