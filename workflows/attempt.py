"""One proctored attempt, from the learner opening the lesson to the certificate.

The story follows ProctorFree's integration article: open a ProctorFree session; the learner
sets up proctoring, takes the exam and presses FINISH; a required lesson gets a "Proctoring
Review" task; the exam result completes the lesson when validation is off; full proctoring
waits for ProctorFree's audit; a reviewer passes or fails; the lesson, then the course, then
the certificate complete by the course's rules.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

from workflows.bookkeeping import ONE_ROUND_TRIP_PER_STEP, RECORD_RETRY, RECORD_TIMEOUT
from workflows.vendor_waits import VendorWaits

with workflow.unsafe.imports_passed_through():
    from activities.records import RecordActivities
    from activities.vendor import VendorActivities
    from models.payloads import (
        AttemptInput,
        AttemptState,
        AuditReport,
        CompletionReport,
        CompletionRequest,
        DecisionReply,
        DecisionRequest,
        DecisionStep,
        ExamResult,
        SessionProgress,
        StepBatch,
        VendorSessionRef,
    )
    from models.rules import Decision, decision_refusal, time_limit
    from models.statuses import AttemptStatus, ReviewState
    from proctorflow import metrics

S = AttemptStatus

DECISION_REPLY_WAIT = timedelta(seconds=20)
# Running-logic changes, in the order they were made (see tests/workflows/test_replay.py).
DECISION_IN_ONE_WRITE = "decision-in-one-write"
ESCALATED_AT_THE_DEADLINE = "escalated-at-the-deadline"


@workflow.defn
class AttemptWorkflow(VendorWaits):
    @workflow.init
    def __init__(self, attempt: AttemptInput) -> None:
        self._attempt = attempt
        self._plan = attempt.plan
        self._status = S.CREATED
        self._seq = 0
        self._session: VendorSessionRef | None = None
        self._started = False
        self._started_at: datetime | None = None
        self._finished = False
        self._finished_at: datetime | None = None
        self._capped = False
        self._exam: ExamResult | None = None
        self._audit: AuditReport | None = None
        self._audit_at: datetime | None = None
        self._review_state: ReviewState | None = None
        self._decision: Decision | None = None
        self._decided_by: str | None = None
        self._completion: CompletionReport | None = None
        self._resume_requested = False
        self._check_now = False
        self._waiting_for = "a ProctorFree session to be created"
        self._writes_batched = False
        self._session_locally = False
        self._unwritten = StepBatch()
        self._published = (S.CREATED, None)

    @workflow.run
    async def run(self, attempt: AttemptInput) -> AttemptState:
        # Attempts started before this running-logic change keep the logic they started with.
        self._writes_batched = self._session_locally = workflow.patched(ONE_ROUND_TRIP_PER_STEP)
        try:
            state = await self._proctored_attempt(attempt)
        except asyncio.CancelledError:
            # Ops cancelled the attempt: close the vendor session and say so, then end cancelled.
            if self._session is not None:
                await self._vendor(VendorActivities.close_session)
            await self._move(S.EXPIRED, "cancelled", detail={"reason": "cancelled by ops"})
            await self._flush()
            raise
        await self._flush()
        return state

    async def _proctored_attempt(self, attempt: AttemptInput) -> AttemptState:
        plan = self._plan
        opened_at = workflow.now()

        # The learner opened the lesson: ProctorFree opens a proctored session for this attempt.
        self._session = await self._vendor(VendorActivities.create_session, local=self._session_locally)
        await self._move(S.AWAITING_SETUP, "vendor_session_created", vendor=self._session)

        # The learner sets up proctoring, starts, takes the exam and presses FINISH. One who never
        # finishes must not leave the attempt open forever.
        if not await self._learner_finishes(deadline=opened_at + attempt.timers.finish_window):
            await self._vendor(VendorActivities.close_session)
            await self._move(S.EXPIRED, "expired", detail={"reason": "never finished in the window"})
            return self.state()
        await self._move(S.FINISHED, "learner_finished", detail={"capped": self._capped})

        # "Tasks are only created for lessons that are required (not optional)."
        if plan.creates_review_task:
            await self._set_review_state(plan.initial_review_state)

        # Requires validation off: "automatically complete the lesson after receiving the
        # exam results".
        if plan.completes_on_exam_result and await self._exam_result_arrives():
            await self._complete()

        if plan.awaits_decision:
            # Full proctoring: ProctorFree audits the recording, "usually within 24 hours".
            if plan.awaits_audit and self._decision is None:
                await self._move(S.AWAITING_AUDIT, "awaiting_audit")
                await self._audit_lands()
            # Ready for review even when a decision came in already: the task is ready before
            # the attempt's status says so, and a reviewer may be quicker than this step.
            await self._move(S.READY_FOR_REVIEW, "ready_for_review")
            self._show_waiting_for("a reviewer to pass or fail the proctoring")
            await self._wait(lambda: self._decision is not None)
            # "Passing or failing the proctoring session will also mark the task as completed."
            decided = S.PASSED if self._decision == "pass" else S.FAILED
            _count(metrics.DECISIONS, {"decision": str(self._decision)})
            if workflow.patched(DECISION_IN_ONE_WRITE):
                await self._decide_and_complete(decided)
                return self._done()
            await self._move(decided, "decided", detail=self._decision_detail())
            if plan.creates_review_task:
                await self._set_review_state(ReviewState(decided.value), decided_by=self._decided_by)
            await self._complete()

        await self._move(S.COMPLETED, "completed", detail=self._completion_detail())
        return self._done()

    def _done(self) -> AttemptState:
        self._show_waiting_for("nothing: the attempt is complete")
        return self.state()

    # --- The steps ------------------------------------------------------------------------

    async def _learner_finishes(self, deadline: datetime) -> bool:
        """Wait for FINISH, from ProctorFree's webhook or, if webhooks are lost, by polling it.

        A practice session is ended at its 20-minute limit. False when the window ran out.
        """
        self._show_waiting_for("the learner to set up proctoring, take the exam and press FINISH")
        timers = self._attempt.timers

        def poll() -> workflow.ActivityHandle[Any]:
            # Webhooks normally bring FINISH; the poll, backing off to hourly, is the safety net.
            return self._start_poll(
                VendorActivities.check_session_finished,
                deadline,
                timers.session_poll_interval,
                timers.session_poll_max_interval,
            )

        result = await self._until(
            lambda: self._finished,
            poll,
            self._polled_finish,
            self._practice_limit,
            first_poll_at=min(workflow.now() + timers.session_poll_interval, deadline),
        )
        await self._record_learner_start()
        if result == "limit":
            await self._vendor(VendorActivities.close_session)
            self._finished, self._capped = True, True
            self._finished_at = workflow.now()
        return self._finished

    async def _exam_result_arrives(self) -> bool:
        self._show_waiting_for("the exam result from the LMS")
        try:
            await self._wait(
                lambda: self._exam is not None or self._decision is not None,
                timeout=self._attempt.timers.exam_result_window,
            )
        except TimeoutError:
            await self._note("exam_result_missing", {"waited": str(self._attempt.timers.exam_result_window)})
        return self._exam is not None

    async def _audit_lands(self) -> None:
        """Poll ProctorFree's audit infrequently, let its webhook end the wait at once, and
        escalate an audit that never arrives: the task becomes reviewable, flagged."""
        timers = self._attempt.timers
        deadline = self._finished_at_or_now() + timers.audit_deadline
        self._show_waiting_for(
            f"the ProctorFree audit: polled every {timers.audit_poll_interval}, a webhook ends the wait "
            f"at once, escalated at {deadline:%Y-%m-%d %H:%M} UTC"
        )

        def poll() -> workflow.ActivityHandle[Any]:
            return self._start_poll(VendorActivities.check_audit, deadline, timers.audit_poll_interval)

        first_poll_at = min(workflow.now() + timers.audit_poll_interval, deadline)
        await self._until(
            lambda: self._audit is not None, poll, self.audit_completed, first_poll_at=first_poll_at
        )
        if self._audit is None and workflow.now() < deadline and workflow.patched(ESCALATED_AT_THE_DEADLINE):
            # Temporal retries no poll past its deadline, so the polls stop up to one interval
            # short of it: the webhook still has until the deadline itself.
            with contextlib.suppress(TimeoutError):
                await self._wait(lambda: self._audit is not None, timeout=deadline - workflow.now())
        if self._audit is None:
            self._audit = AuditReport(outcome="missing", escalated=True)
            self._audit_at = workflow.now()
        flagged = self._audit.escalated or self._audit.outcome == "flagged"
        await self._note("audit", {"outcome": self._audit.outcome, "escalated": self._audit.escalated})
        if self._plan.creates_review_task:
            await self._set_review_state(
                ReviewState.READY_FOR_REVIEW, flagged=flagged, audit_outcome=self._audit.outcome
            )

    async def _complete(self) -> None:
        """Lesson, then course when this was the last required lesson, then certificate."""
        first = self._completion is None
        report = await workflow.execute_local_activity_method(
            RecordActivities.complete_attempt,
            self._completion_request(),
            start_to_close_timeout=RECORD_TIMEOUT,
            retry_policy=RECORD_RETRY,
        )
        self._completed(report, first)
        await self._note("lesson_completed" if first else "completion_confirmed", self._completion_detail())

    async def _decide_and_complete(self, decided: AttemptStatus) -> None:
        """The decision, the review task, the lesson, course and certificate, and the move to
        completed, in one write: the reviewer's reply waits for one database round trip, not five."""
        first = self._completion is None
        review = None
        if self._plan.creates_review_task:
            review = self._review_change(ReviewState(decided.value), decided_by=self._decided_by)
        step = DecisionStep(
            decided=self._next_change("decided", status=decided, detail=self._decision_detail()),
            review=review,
            completion=self._completion_request(),
            first_completion=first,
        )
        self._seq += 2  # the completion note and the move to completed, written in the same step
        report = await workflow.execute_local_activity_method(
            RecordActivities.record_decision,
            step,
            start_to_close_timeout=RECORD_TIMEOUT,
            retry_policy=RECORD_RETRY,
        )
        self._completed(report, first)
        self._show_status(S.COMPLETED)

    def _completion_request(self) -> CompletionRequest:
        return CompletionRequest(
            attempt_id=self._attempt.attempt_id,
            key=self._attempt.key,
            decision=self._decision,
            exam=self._exam,
            at=workflow.now(),
        )

    def _completed(self, report: CompletionReport, first: bool) -> None:
        self._completion = report
        if first:
            _count(
                metrics.COMPLETIONS, {"method": self._attempt.method, "success": str(report.lesson_success)}
            )

    # --- Messages -------------------------------------------------------------------------

    @workflow.signal
    def learner_started(self) -> None:
        if not self._started:
            self._started, self._started_at = True, workflow.now()

    @workflow.signal
    def learner_finished(self) -> None:
        self.learner_started()
        if not self._finished:
            self._finished, self._finished_at = True, workflow.now()

    @workflow.signal
    async def exam_result(self, result: ExamResult) -> None:
        if self._exam is None:
            self._exam = result
        elif result != self._exam:
            await self._note("exam_result_ignored", {"reason": "a result was already received"})
            await self._flush()

    @workflow.signal
    def audit_completed(self, report: AuditReport) -> None:
        if self._audit is None:
            self._audit, self._audit_at = report, workflow.now()

    @workflow.signal
    def resume(self) -> None:
        """Ops fixed the credentials: try the refused vendor call again."""
        self._resume_requested = True

    @workflow.signal
    def check_vendor_now(self) -> None:
        """Ops: ask ProctorFree now (finish, audit) rather than at the next poll."""
        self._check_now = True

    @workflow.update
    async def decide(self, request: DecisionRequest) -> DecisionReply:
        """A reviewer passes or fails the proctoring (the reviewer UI and the API use this).

        The reply waits for the completion it causes, so it can say what happened."""
        refusal = self._decision_refusal(request.decision)  # again: a concurrent one may have won
        if refusal:
            raise ApplicationError(refusal, type="DecisionRefused")
        repeated = self._decision == request.decision
        if not repeated:
            self._decision, self._decided_by = request.decision, request.reviewer  # type: ignore[assignment]
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(
                lambda: self._completion is not None and self._status in (S.COMPLETED, S.ERROR),
                timeout=DECISION_REPLY_WAIT,
            )
        return self._decision_reply(repeated)

    @decide.validator
    def _validate_decision(self, request: DecisionRequest) -> None:
        refusal = self._decision_refusal(request.decision)
        if refusal:
            raise ApplicationError(refusal, type="DecisionRefused")

    @workflow.signal
    async def submit_decision(self, request: DecisionRequest) -> None:
        """The same decision as a plain signal, for callers that cannot wait (Temporal Web)."""
        refusal = self._decision_refusal(request.decision)
        if refusal:
            await self._note("decision_ignored", {"decision": request.decision, "reason": refusal})
            await self._flush()
        elif self._decision is None:
            self._decision, self._decided_by = request.decision, request.reviewer  # type: ignore[assignment]

    @workflow.query
    def state(self) -> AttemptState:
        return AttemptState(
            attempt_id=self._attempt.attempt_id,
            status=self._status,
            review_state=self._review_state,
            vendor_session_id=self._session.session_id if self._session else None,
            started=self._started,
            finished=self._finished,
            exam=self._exam,
            audit=self._audit,
            decision=self._decision,
            decided_by=self._decided_by,
            lesson_completed=self._completion is not None,
            waiting_for=self._waiting_for,
            finished_at=self._finished_at,
            audit_at=self._audit_at,
        )

    # --- Helpers --------------------------------------------------------------------------

    def _decision_refusal(self, decision: str) -> str | None:
        if not self._plan.awaits_decision:
            return "this attempt takes no decision: the lesson is optional and needs no validation"
        ready = self._finished and (not self._plan.awaits_audit or self._audit is not None)
        pending = None
        if self._finished and not ready:
            pending = "not ready: ProctorFree has not finished auditing the session (usually within 24 hours)"
        elif not self._finished:
            pending = "not ready: the learner has not finished the proctored session"
        return decision_refusal(decision, ready, self._decision, pending)

    def _decision_reply(self, repeated: bool) -> DecisionReply:
        assert self._decision is not None
        done = "passed" if self._decision == "pass" else "failed"
        if repeated:
            message = f"already {done}; nothing changed"
        elif self._completion is None:
            message = f"{done}; completion is in progress"
        else:
            message = f"{done}; " + self._describe_completion(self._completion)
        return DecisionReply(
            accepted=not repeated, decision=self._decision, status=self._status, message=message
        )

    @staticmethod
    def _describe_completion(report: CompletionReport) -> str:
        parts = ["lesson completed" + ("" if report.lesson_success else " as failed")]
        parts.append(
            "course completed"
            if report.course_completed
            else f"course not completed ({report.course_reason})"
        )
        if report.certificate_issued:
            parts.append("certificate issued")
        return ", ".join(parts)

    def _decision_detail(self) -> dict[str, Any]:
        return {"decision": self._decision, "by": self._decided_by}

    def _completion_detail(self) -> dict[str, Any]:
        return self._completion.model_dump() if self._completion else {}

    async def _on_wake(self) -> None:
        await self._record_learner_start()

    async def _record_learner_start(self) -> None:
        if self._started and self._status == S.AWAITING_SETUP:
            await self._move(S.IN_PROGRESS, "learner_started")

    def _polled_finish(self, progress: SessionProgress) -> None:
        self.learner_finished()
        self._capped = self._capped or progress.capped

    def _practice_limit(self) -> datetime | None:
        limit = time_limit(self._attempt.method)
        if limit is None or self._started_at is None:
            return None
        return self._started_at + limit

    def _finished_at_or_now(self) -> datetime:
        return self._finished_at or workflow.now()


def _count(name: str, labels: dict[str, str]) -> None:
    """A ProctorFlow counter; Temporal drops what a replay would count twice."""
    workflow.metric_meter().create_counter(name).add(1, labels)
