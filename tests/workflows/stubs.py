"""In-memory stand-ins for the attempt workflow's activities: ProctorFree and the database.

They are registered under the real activities' names and take and return the same payloads, so
the real `AttemptWorkflow` runs against them on the time-skipping server in milliseconds. They
keep what the workflow wrote, in order, so a test can assert the story a user would see.

    vendor = Stubs()
    Worker(client, task_queue=..., workflows=[AttemptWorkflow], activities=vendor.activities())
    ...
    assert vendor.events == ["vendor_session_created", "learner_started", "learner_finished", ...]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from activities import errors
from models.payloads import (
    AuditReport,
    CompletionReport,
    CompletionRequest,
    DecisionStep,
    ExamResult,
    ReviewTaskChange,
    SessionFinished,
    StatusChange,
    StepBatch,
    VendorCall,
    VendorSessionRef,
)
from models.rules import lesson_outcome
from models.statuses import AttemptStatus, ReviewState, StepEvent

REFUSED_CREDENTIALS = "ProctorFree refused the integration's API credentials: rotate them, then resume"
COURSE_COMPLETE = "all required lessons complete"
COURSE_WAITS = "required lessons not complete: intro"


class Stubs:
    """ProctorFree and the database, in memory.

    ProctorFree: the learner finishes (`learner_finishes_in_vendor`, or on the n-th poll with
    `finish_on_poll`), the audit lands (`audit`, or on the n-th poll with `audit_on_poll`), and
    `refuse(...)` makes `create_session`/`close_session` refuse the credentials (a parking
    error) until `accept(...)`.

    The database: every `StatusChange` (deduplicated by seq, as the real store does), every
    `ReviewTaskChange`, every completion. `course_completes` says whether this lesson was the
    last required one; `certificate` whether the course issues one.
    """

    def __init__(self, course_completes: bool = True, certificate: bool = True) -> None:
        # ProctorFree
        self.session_finished: SessionFinished | None = None
        self.finish_on_poll: int | None = None
        self.finish_capped = False
        self.audit: AuditReport | None = None
        self.audit_on_poll: int | None = None
        self.audit_outcome = "clean"
        self.refusing: set[str] = set()
        self.sessions_created = 0
        self.closes = 0
        self.finish_polls = 0
        self.audit_polls = 0
        # The database
        self.course_completes = course_completes
        self.certificate = certificate
        self.changes: list[StatusChange] = []
        self.reviews: list[ReviewTaskChange] = []
        self.completions: list[CompletionRequest] = []
        self.reports: list[CompletionReport] = []
        self.stored_exam: ExamResult | None = None  # the first exam result a step recorded
        # Every activity call, in order: (activity name, payload)
        self.calls: list[tuple[str, Any]] = []

    # --- What the test makes happen -----------------------------------------------------------

    def learner_finishes_in_vendor(self, capped: bool = False) -> None:
        """The learner pressed FINISH in ProctorFree (its webhook may be lost: polls see it)."""
        self.session_finished = SessionFinished(capped=capped)

    def refuse(self, *names: str) -> None:
        """ProctorFree refuses the credentials on these calls (`create_session`, `close_session`)."""
        self.refusing.update(names)

    def accept(self, *names: str) -> None:
        self.refusing.difference_update(names or set(self.refusing))

    # --- What the workflow wrote --------------------------------------------------------------

    @property
    def events(self) -> list[str]:
        """The story's steps, without the exam result's bookkeeping step (its own tests look)."""
        return [change.event for change in self.changes if change.event != StepEvent.EXAM_RESULT]

    @property
    def statuses(self) -> list[AttemptStatus]:
        return [change.status for change in self.changes if change.status is not None]

    @property
    def review_states(self) -> list[ReviewState]:
        return [review.state for review in self.reviews]

    @property
    def called(self) -> list[str]:
        return [name for name, _ in self.calls]

    def step(self, event: str) -> StatusChange:
        """The one step written under this event name."""
        found = [change for change in self.changes if change.event == event]
        assert len(found) == 1, f"{len(found)} steps named {event!r} in {self.events}"
        return found[0]

    def activities(self) -> list[Callable[..., Any]]:
        return [
            self.create_session,
            self.check_session_finished,
            self.check_audit,
            self.close_session,
            self.set_time_limit,
            self.record_steps,
            self.complete_attempt,
            self.record_decision,
        ]

    # --- ProctorFree ----------------------------------------------------------------------------

    @activity.defn(name="create_session")
    async def create_session(self, call: VendorCall) -> VendorSessionRef:
        self.calls.append(("create_session", call))
        self._maybe_refuse("create_session")
        self.sessions_created += 1
        session_id = f"pf-{call.attempt_id[:8]}-{self.sessions_created}"
        return VendorSessionRef(
            session_id=session_id,
            setup_url=f"https://proctorfree.test/setup/{session_id}",
            review_url=f"https://proctorfree.test/review/{session_id}",
        )

    @activity.defn(name="check_session_finished")
    async def check_session_finished(self, call: VendorCall) -> SessionFinished:
        self.calls.append(("check_session_finished", call))
        self.finish_polls += 1
        due = self.finish_on_poll is not None and self.finish_polls >= self.finish_on_poll
        if self.session_finished is None and due:
            self.session_finished = SessionFinished(capped=self.finish_capped)
        if self.session_finished is None:
            raise _not_yet(f"session {call.session_id} is in progress")
        return self.session_finished

    @activity.defn(name="check_audit")
    async def check_audit(self, call: VendorCall) -> AuditReport:
        self.calls.append(("check_audit", call))
        self.audit_polls += 1
        if self.audit is None and self.audit_on_poll is not None and self.audit_polls >= self.audit_on_poll:
            self.audit = AuditReport(outcome=self.audit_outcome)
        if self.audit is None:
            raise _not_yet(f"audit of {call.session_id} is pending")
        return self.audit

    @activity.defn(name="close_session")
    async def close_session(self, call: VendorCall) -> None:
        self.calls.append(("close_session", call))
        self._maybe_refuse("close_session")
        assert call.session_id is not None, "closing a session that was never created"
        self.closes += 1

    @activity.defn(name="set_time_limit")
    async def set_time_limit(self, call: VendorCall) -> None:
        self.calls.append(("set_time_limit", call))
        self._maybe_refuse("set_time_limit")

    def _maybe_refuse(self, name: str) -> None:
        if name in self.refusing:
            raise ApplicationError(REFUSED_CREDENTIALS, type=errors.CREDENTIALS_REJECTED, non_retryable=True)

    # --- The database -----------------------------------------------------------------------

    @activity.defn(name="record_steps")
    async def record_steps(self, batch: StepBatch) -> None:
        self.calls.append(("record_steps", batch))
        for change in batch.changes:
            self._write_change(change)
        self.reviews.extend(batch.reviews)

    @activity.defn(name="complete_attempt")
    async def complete_attempt(self, request: CompletionRequest) -> CompletionReport:
        self.calls.append(("complete_attempt", request))
        return self._complete(request)

    @activity.defn(name="record_decision")
    async def record_decision(self, step: DecisionStep) -> CompletionReport:
        self.calls.append(("record_decision", step))
        self._write_change(step.decided)
        if step.review is not None:
            self.reviews.append(step.review)
        report = self._complete(step.completion)
        for change in step.reported:
            self._write_change(change.model_copy(update={"detail": {**change.detail, **report.model_dump()}}))
        return report

    def _write_change(self, change: StatusChange) -> None:
        """One step under its seq: a retried write replaces the one it repeats, never doubles it.
        The exam result's step stores the result the completion reads, as the store does."""
        if change.event == StepEvent.EXAM_RESULT and self.stored_exam is None:
            self.stored_exam = ExamResult(**change.detail)
        for i, written in enumerate(self.changes):
            if written.seq == change.seq:
                self.changes[i] = change
                return
        self.changes.append(change)
        self.changes.sort(key=lambda c: c.seq)

    def _complete(self, request: CompletionRequest) -> CompletionReport:
        self.completions.append(request)
        exam = self.stored_exam
        outcome = lesson_outcome(
            request.decision, exam.passed if exam else None, exam.score if exam else None
        )
        course_completed = self.course_completes and outcome.success
        if course_completed:
            reason = COURSE_COMPLETE
        elif not self.course_completes:
            reason = COURSE_WAITS
        else:
            reason = "failed, and the course does not complete on failure of its score lesson"
        report = CompletionReport(
            lesson_success=outcome.success,
            course_completed=course_completed,
            course_reason=reason,
            certificate_issued=course_completed and self.certificate,
        )
        self.reports.append(report)
        return report


def _not_yet(message: str) -> ApplicationError:
    """What the real polls raise while ProctorFree is not ready: the retry policy is the poll."""
    return ApplicationError(message, type=errors.NOT_YET, category=ApplicationErrorCategory.BENIGN)
