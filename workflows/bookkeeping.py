"""The attempt's bookkeeping: every step is written to the database by a local activity, in
the workflow's order and under its own sequence number, so a retried write is never doubled."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy

from workflows import search_attributes

with workflow.unsafe.imports_passed_through():
    from activities.records import RecordActivities
    from models.payloads import AttemptInput, ReviewTaskChange, StatusChange
    from models.statuses import AttemptStatus, ReviewState

RECORD_TIMEOUT = timedelta(seconds=15)
RECORD_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200), maximum_interval=timedelta(seconds=10)
)


class Bookkeeping:
    _attempt: AttemptInput
    _status: AttemptStatus
    _seq: int
    _review_state: ReviewState | None
    _waiting_for: str

    def _show_waiting_for(self, what: str) -> None:
        """What the attempt waits for, in words: the query and Temporal Web's current details."""
        self._waiting_for = what
        workflow.set_current_details(f"Waiting for {what}.")

    async def _set_review_state(
        self,
        state: ReviewState,
        flagged: bool = False,
        audit_outcome: str | None = None,
        decided_by: str | None = None,
    ) -> None:
        await workflow.execute_local_activity_method(
            RecordActivities.update_review_task,
            self._review_change(state, flagged, audit_outcome, decided_by),
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
        """The review task's next state, shown at once in Temporal (and written by the caller)."""
        self._review_state = state
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
        await self._record(event, status=status, **kwargs)
        self._show_status(status)

    async def _note(self, event: str, detail: dict[str, Any]) -> None:
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
        workflow.upsert_search_attributes([search_attributes.ATTEMPT_STATUS.value_set(status.value)])
