"""Database writes of the attempt workflow, run as local activities: each is one short
transaction, and each is idempotent so a retry never doubles a side effect."""

from __future__ import annotations

from temporalio import activity

from models.payloads import CompletionReport, CompletionRequest, DecisionStep, StepBatch
from store import progress, records
from store.db import SessionFactory, transaction


class RecordActivities:
    def __init__(self, sessions: SessionFactory) -> None:
        self._sessions = sessions

    @activity.defn
    def record_steps(self, batch: StepBatch) -> None:
        with transaction(self._sessions) as session:
            records.record_steps(session, batch)

    @activity.defn
    def complete_attempt(self, request: CompletionRequest) -> CompletionReport:
        with transaction(self._sessions) as session:
            return progress.complete_attempt(session, request)

    @activity.defn
    def record_decision(self, step: DecisionStep) -> CompletionReport:
        with transaction(self._sessions) as session:
            return records.record_decision(session, step)
