"""One proctored attempt, from the learner opening the lesson to the certificate.

The story follows ProctorFree's integration article: open a ProctorFree session; the learner
sets up proctoring, takes the exam and presses FINISH; a required lesson gets a "Proctoring
Review" task; the exam result completes the lesson when validation is off; full proctoring
waits for ProctorFree's audit; a reviewer passes or fails; the lesson, then the course, then
the certificate complete by the course's rules.

How running logic may change (patches, recorded histories): workflows/README.md.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

from workflows.review_ops import ReviewOperations

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
        SessionFinished,
        StepBatch,
    )
    from models.review_ops import decider_refusal, second_review_refusal
    from models.rules import (
        Decision,
        decided_again,
        decided_review_state,
        decided_status,
        decision_refusal,
        not_ready_reason,
        proctoring_result,
    )
    from models.statuses import AttemptStatus, ReviewState, StepEvent
    from proctorflow import metrics

S = AttemptStatus
E = StepEvent

# How long a reviewer's Update waits for the completion it causes before answering anyway.
DECISION_REPLY_WAIT = timedelta(seconds=20)


@workflow.defn
class AttemptWorkflow(ReviewOperations):
    @workflow.init
    def __init__(self, attempt: AttemptInput) -> None:
        self._attempt = attempt
        self._plan = attempt.plan
        self._state = AttemptState(
            attempt_id=attempt.attempt_id, waiting_for="a ProctorFree session to be created"
        )
        self._seq = 0
        self._unwritten = StepBatch()
        self._published = (S.CREATED, None)
        self._resume_requested = False
        self._check_now = False
        self._awaiting_exam = False  # waiting for the exam result before the lesson can complete
        self._exam_window_closed = False
        self._extra_minutes = 0
        self._voiding = None
        self._void_written = False
        self._flagged = False
        self._ops_changed = False
        self._published_ops = (None, None)

    @workflow.run
    async def run(self, attempt: AttemptInput) -> AttemptState:
        story = asyncio.ensure_future(self._proctored_attempt(attempt))
        try:
            # The story runs to its end, unless staff void the attempt (`act`) on the way.
            await workflow.wait_condition(lambda: story.done() or self._voiding is not None)
        except asyncio.CancelledError:
            await _stop(story)
            if story.cancelled():  # else it finished a decision's write first: it completed
                await self._cancelled()
                await self._end()
                raise
        if self._voiding is not None:
            await _stop(story)
            await self._voided()
        elif story.exception() is not None:
            raise story.exception()  # type: ignore[misc]  # a failure of the story fails the run
        await self._end()
        return self._state

    async def _proctored_attempt(self, attempt: AttemptInput) -> None:
        plan = self._plan

        # The learner opened the lesson: ProctorFree opens a proctored session for this attempt.
        session = await self._vendor(VendorActivities.create_session, local=True)
        self._state.vendor_session_id = session.session_id
        self._move(S.AWAITING_SETUP, E.VENDOR_SESSION_CREATED, vendor=session)

        # The learner sets up proctoring, starts, takes the exam and presses FINISH. One who never
        # finishes must not leave the attempt open forever (the window counts from the session:
        # time parked on refused credentials is not the learner's).
        if not await self._learner_finishes(deadline=workflow.now() + attempt.timers.finish_window):
            await self._vendor(VendorActivities.close_session)
            self._move(S.EXPIRED, E.EXPIRED, detail={"reason": "never finished in the window"})
            return
        self._move(S.FINISHED, E.LEARNER_FINISHED, detail={"capped": self._state.capped})

        # "Tasks are only created for lessons that are required (not optional)."
        if plan.creates_review_task:
            self._set_review_state(plan.initial_review_state)

        # Requires validation off: "automatically complete the lesson after receiving the
        # exam results".
        if plan.completes_on_exam_result and await self._exam_result_in():
            await self._complete_lesson()

        if not plan.awaits_decision:
            self._move(S.COMPLETED, E.COMPLETED, detail=self._completion_detail())
            self._show_waiting_for("nothing: the attempt is complete")
            return

        # Full proctoring: ProctorFree audits the recording, "usually within 24 hours".
        if plan.awaits_audit and self._state.decision is None:
            await self._audit_lands()
        # Ready for review even when a decision came in already: the task is ready before the
        # attempt's status says so, and a reviewer may be quicker than this step.
        self._move(S.READY_FOR_REVIEW, E.READY_FOR_REVIEW)
        self._show_waiting_for("a reviewer to pass or fail the proctoring")
        await self._await_decision()
        # The lesson's success is the exam's as well as the proctoring's: a pass never stands in
        # for a quiz result that is still to come.
        await self._exam_result_in()
        # "Passing or failing the proctoring session will also mark the task as completed."
        _count(metrics.DECISIONS, {"decision": str(self._state.decision)})
        await self._decide_and_complete()
        self._show_waiting_for("nothing: the attempt is complete")

    async def _cancelled(self) -> None:
        """Ops cancelled the attempt: close its ProctorFree session if ProctorFree lets us (a
        refusal is noted, never parked on), close its review task, and end expired. A cancel
        that came while the decision was written changes nothing: the attempt completed."""
        if self._state.status == S.COMPLETED:
            return
        detail: dict[str, Any] = {"reason": "cancelled by ops"}
        if self._state.vendor_session_id is not None:
            not_closed = await self._try_vendor(VendorActivities.close_session)
            if not_closed:
                detail["vendor_session_not_closed"] = not_closed
        if self._state.review_state in (ReviewState.NOT_READY, ReviewState.READY_FOR_REVIEW):
            self._set_review_state(ReviewState.CLOSED)
        self._move(S.EXPIRED, E.CANCELLED, detail=detail)

    async def _end(self) -> None:
        """Write the last steps, and let every message handler finish before the run returns:
        an Update in flight gets its reply, a note from a signal gets written."""
        await self._flush()
        await workflow.wait_condition(workflow.all_handlers_finished)
        await self._flush()

    # --- The steps ------------------------------------------------------------------------

    async def _learner_finishes(self, deadline: datetime) -> bool:
        """Wait for FINISH, from ProctorFree's webhook or, if webhooks are lost, by polling it.

        A session is ended at its time limit (practice: 20 minutes; an accommodation's or staff's
        extra minutes included), as ProctorFree ends it. False when the window ran out.
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
            lambda: self._state.finished,
            poll,
            self._polled_finish,
            first_poll_at=min(workflow.now() + timers.session_poll_interval, deadline),
            limit=self._session_limit,
        )
        if result == "limit":
            self._record_learner_start()
            await self._vendor(VendorActivities.close_session)
            self._state.capped = True
            self._finish_now()
        if not self._state.finished:
            # The window is honoured to its end, with one last question to ProctorFree.
            await self._until_deadline(lambda: self._state.finished, deadline)
            if not self._state.finished:
                found = await self._last_check(VendorActivities.check_session_finished)
                if found is not None:
                    self._polled_finish(found)
        self._record_learner_start()
        return self._state.finished

    async def _exam_result_in(self) -> bool:
        """Whether the LMS sent the exam result, waiting for it until its window closes
        (counted from FINISH); a result missing then is noted once."""
        if self._state.exam is None and not self._exam_window_closed:
            window = self._attempt.timers.exam_result_window
            closes = (self._state.finished_at or workflow.now()) + window
            self._show_waiting_for(f"the exam result from the LMS (until {closes:%Y-%m-%d %H:%M} UTC)")
            self._awaiting_exam = True
            await self._until_deadline(lambda: self._state.exam is not None, closes)
            self._awaiting_exam = False
            if self._state.exam is None:
                self._exam_window_closed = True
                self._note(E.EXAM_RESULT_MISSING, {"waited": str(window)})
        return self._state.exam is not None

    async def _audit_lands(self) -> None:
        """Poll ProctorFree's audit infrequently, let its webhook end the wait at once, and
        escalate an audit that never arrives: the task becomes reviewable, flagged."""
        timers = self._attempt.timers
        deadline = (self._state.finished_at or workflow.now()) + timers.audit_deadline
        self._move(S.AWAITING_AUDIT, E.AWAITING_AUDIT, detail={"escalates_at": deadline.isoformat()})
        self._show_waiting_for(
            f"the ProctorFree audit: polled every {timers.audit_poll_interval}, a webhook ends the wait "
            f"at once, escalated at {deadline:%Y-%m-%d %H:%M} UTC"
        )

        def poll() -> workflow.ActivityHandle[Any]:
            return self._start_poll(VendorActivities.check_audit, deadline, timers.audit_poll_interval)

        first_poll_at = min(workflow.now() + timers.audit_poll_interval, deadline)
        await self._until(
            lambda: self._state.audit is not None, poll, self.audit_completed, first_poll_at=first_poll_at
        )
        await self._until_deadline(lambda: self._state.audit is not None, deadline)
        if self._state.audit is None:
            found = await self._last_check(VendorActivities.check_audit)
            if found is not None:
                self.audit_completed(found)
        if self._state.audit is None:
            self.audit_completed(AuditReport(outcome="missing", escalated=True))
        audit = self._state.audit
        assert audit is not None
        self._note(E.AUDIT, {"outcome": audit.outcome, "escalated": audit.escalated})
        if self._plan.creates_review_task:
            flagged = self._flagged = audit.escalated or audit.outcome == "flagged"
            self._set_review_state(ReviewState.READY_FOR_REVIEW, flagged=flagged, audit_outcome=audit.outcome)

    async def _complete_lesson(self) -> None:
        """The exam result completes the lesson, then the course when this was the last
        required lesson, then the certificate."""
        await self._flush()  # the exam result's step first: the completion reads it
        first = self._state.completion is None
        report = await self._write(RecordActivities.complete_attempt, self._completion_request())
        self._remember_completion(report, first)
        self._note(E.LESSON_COMPLETED if first else E.COMPLETION_CONFIRMED, self._completion_detail())

    async def _decide_and_complete(self) -> None:
        """The decision, the review task, the lesson, course and certificate, and the move to
        completed, in one write: the reviewer's reply waits for one database round trip, not five."""
        decision = self._state.decision
        assert decision is not None
        await self._flush()
        first = self._state.completion is None
        review = None
        if self._plan.creates_review_task:
            review = self._review_change(decided_review_state(decision), decided_by=self._state.decided_by)
        step = DecisionStep(
            decided=self._next_change(
                E.DECIDED, status=decided_status(decision), detail=self._decision_detail()
            ),
            review=review,
            completion=self._completion_request(),
            # The store adds the completion report to the detail of these two.
            reported=[
                self._next_change(E.LESSON_COMPLETED if first else E.COMPLETION_CONFIRMED),
                self._next_change(E.COMPLETED, status=S.COMPLETED),
            ],
        )
        try:
            report = await self._write(RecordActivities.record_decision, step)
        except asyncio.CancelledError:
            # A cancel never cuts the decision's write: it is written whole (idempotent), and
            # the attempt ends completed.
            report = await self._write(RecordActivities.record_decision, step)
        self._remember_completion(report, first)
        self._state.status = S.COMPLETED
        self._publish()

    def _completion_request(self) -> CompletionRequest:
        return CompletionRequest(
            attempt_id=self._attempt.attempt_id,
            key=self._attempt.key,
            decision=self._state.decision,
            at=workflow.now(),
        )

    def _remember_completion(self, report: CompletionReport, first: bool) -> None:
        self._state.completion = report
        if first:
            _count(
                metrics.COMPLETIONS, {"method": self._attempt.method, "success": str(report.lesson_success)}
            )

    # --- Messages -------------------------------------------------------------------------

    @workflow.signal
    def learner_started(self, at: datetime | None = None) -> None:
        """The learner confirmed and started the session (`at`: ProctorFree's time of it)."""
        if not self._state.started:
            self._state.started, self._state.started_at = True, self._vendor_time(at)

    @workflow.signal
    def learner_finished(self, at: datetime | None = None) -> None:
        """The learner pressed FINISH (`at`: ProctorFree's time of it, which the audit's
        deadline counts from however late the message arrives)."""
        self.learner_started(at)
        if not self._state.finished:
            self._finish_now(at)

    @workflow.signal
    def session_capped(self, at: datetime | None = None) -> None:
        """ProctorFree ended the session at its time limit (`at`: its time of it)."""
        if not self._state.finished:
            self.learner_finished(at)
            self._state.capped = True

    @workflow.signal
    async def exam_result(self, result: ExamResult) -> None:
        if self._state.exam is None:
            self._state.exam = result
            self._note(E.EXAM_RESULT, result.model_dump())
        elif result != self._state.exam:
            self._note(E.EXAM_RESULT_IGNORED, {"reason": "a result was already received"})
            await self._flush()

    @workflow.signal
    def audit_completed(self, report: AuditReport) -> None:
        if self._state.audit is None:
            self._state.audit, self._state.audit_at = report, workflow.now()

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
        refusal = self._decision_refusal(request)  # again: a concurrent one may have won
        if refusal:
            raise ApplicationError(refusal, type="DecisionRefused")
        repeated = self._state.decision == request.decision
        if not repeated:
            pending = self._take_decision(request)
            if pending is not None:  # one verdict of the two a second review needs
                await self._flush()
                return DecisionReply(
                    accepted=True,
                    decision=request.decision,
                    status=self._state.status,
                    message=pending,  # type: ignore[arg-type]
                )
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(self._decision_applied, timeout=DECISION_REPLY_WAIT)
        return self._decision_reply(repeated)

    @decide.validator
    def _validate_decision(self, request: DecisionRequest) -> None:
        refusal = self._decision_refusal(request)
        if refusal:
            raise ApplicationError(refusal, type="DecisionRefused")

    @workflow.signal
    async def submit_decision(self, request: DecisionRequest) -> None:
        """The same decision as a plain signal, for callers that cannot wait (Temporal Web)."""
        refusal = self._decision_refusal(request)
        if refusal:
            self._note(E.DECISION_IGNORED, {"decision": request.decision, "reason": refusal})
            await self._flush()
        elif self._state.decision is None:
            self._take_decision(request)

    @workflow.query
    def state(self) -> AttemptState:
        return self._state

    # --- Helpers --------------------------------------------------------------------------

    def _take_decision(self, request: DecisionRequest) -> str | None:
        """The reviewer's pass or fail stands, or (a second review) is one verdict of two:
        then what happens next, in words."""
        pending = self._second_review_pending(request)
        if pending is None:
            self._state.decision = request.decision  # type: ignore[assignment]  # refused unless pass or fail
            self._state.decided_by = request.reviewer
        return pending

    def _decision_refusal(self, request: DecisionRequest) -> str | None:
        state = self._state
        not_ready = not_ready_reason(self._plan, finished=state.finished, audited=state.audit is not None)
        refusal = decision_refusal(request.decision, state.decision, not_ready)
        if refusal or state.decision is not None:
            return refusal
        ops = state.review_ops
        return decider_refusal(ops, request.reviewer) or second_review_refusal(ops.reviews, request.reviewer)

    def _decision_applied(self) -> bool:
        """Whether a reviewer's reply can say what the decision did: it completed the lesson,
        waits for the exam result, or came too late (the attempt was cancelled)."""
        status = self._state.status
        if status == S.EXPIRED or self._awaiting_exam:
            return True
        return self._state.completion is not None and status in (S.COMPLETED, S.ERROR)

    def _decision_reply(self, repeated: bool) -> DecisionReply:
        decision: Decision | None = self._state.decision
        assert decision is not None
        done = proctoring_result(decision)
        if repeated:
            message = decided_again(decision)
        elif self._state.status == S.EXPIRED:
            return DecisionReply(
                accepted=False,
                decision=decision,
                status=self._state.status,
                message="not applied: the attempt was cancelled by ops before the decision completed it",
            )
        elif self._state.completion is None and self._awaiting_exam:
            message = f"{done}; the lesson completes when the LMS sends the exam result"
        elif self._state.completion is None:
            message = f"{done}; completion is in progress"
        else:
            message = f"{done}; " + self._state.completion.describe()
        return DecisionReply(
            accepted=not repeated, decision=decision, status=self._state.status, message=message
        )

    def _decision_detail(self) -> dict[str, Any]:
        return {"decision": self._state.decision, "by": self._state.decided_by}

    def _completion_detail(self) -> dict[str, Any]:
        completion = self._state.completion
        return completion.model_dump() if completion else {}

    async def _on_wake(self) -> None:
        self._record_learner_start()

    def _record_learner_start(self) -> None:
        if self._state.started and self._state.status == S.AWAITING_SETUP:
            self._move(S.IN_PROGRESS, E.LEARNER_STARTED)

    def _polled_finish(self, finished: SessionFinished) -> None:
        self.learner_finished(finished.finished_at)
        self._state.capped = self._state.capped or finished.capped

    def _finish_now(self, at: datetime | None = None) -> None:
        self._state.finished, self._state.finished_at = True, self._vendor_time(at)

    @staticmethod
    def _vendor_time(at: datetime | None) -> datetime:
        """ProctorFree's time of an event, never later than the workflow's own clock."""
        now = workflow.now()
        return min(at, now) if at is not None else now

    def _session_limit(self) -> datetime | None:
        minutes = self._time_limit_minutes()
        if minutes is None or self._state.started_at is None:
            return None
        return self._state.started_at + timedelta(minutes=minutes)


async def _stop(story: asyncio.Future[None]) -> None:
    """Cancel the story where it waits, and let it unwind (a write in flight is finished)."""
    story.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await story


def _count(name: str, labels: dict[str, str]) -> None:
    """A ProctorFlow counter; Temporal drops what a replay would count twice."""
    workflow.metric_meter().create_counter(name).add(1, labels)
