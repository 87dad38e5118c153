"""Database writes of the attempt workflow, run as local activities: each is one short
transaction, and each is idempotent so a retry never doubles a side effect.

A write the database refuses for good (a move the state machine forbids; a newer run of the
workflow that would rewind a decision or a completion) fails without retries, with its reason
and a type the workflow tells apart (`activities.errors.WRITE_REFUSALS`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities import errors
from models.payloads import CompletionReport, CompletionRequest, DecisionStep, StepBatch
from store import progress, records
from store.db import SessionFactory, transaction


@contextmanager
def _refusals_fail_for_good() -> Iterator[None]:
    try:
        yield
    except records.IllegalTransition as refused:
        raise ApplicationError(str(refused), type=errors.ILLEGAL_TRANSITION, non_retryable=True) from refused
    except records.ResetRefused as refused:
        raise ApplicationError(str(refused), type=errors.RESET_REFUSED, non_retryable=True) from refused


class RecordActivities:
    def __init__(self, sessions: SessionFactory) -> None:
        self._sessions = sessions

    @activity.defn
    def record_steps(self, batch: StepBatch) -> None:
        with _refusals_fail_for_good(), transaction(self._sessions) as session:
            records.record_steps(session, batch)

    @activity.defn
    def complete_attempt(self, request: CompletionRequest) -> CompletionReport:
        with transaction(self._sessions) as session:
            return progress.complete_attempt(session, request)

    @activity.defn
    def record_decision(self, step: DecisionStep) -> CompletionReport:
        with _refusals_fail_for_good(), transaction(self._sessions) as session:
            return records.record_decision(session, step)
