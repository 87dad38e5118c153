"""What staff do to a running attempt, each an Update with a validator, a reason and a step in
the attempt's story (SPEC, "Staff actions" and "Accommodations and time limits"):

- `extend`: add minutes to the learner's running session, at ProctorFree too;
- `act`: `reset` (void it and let the learner open the next attempt, even where the lesson
  allows no retakes), `void`, `resume` (a parked attempt) and `check_now` (ask ProctorFree now).

A validator refuses what cannot apply before anything enters the history; the handler's reply
says what happened. Attempts whose run has ended are voided or reset by `starter.staff`.
"""

from __future__ import annotations

from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

from workflows.vendor_waits import VendorWaits

with workflow.unsafe.imports_passed_through():
    from activities.vendor import VendorActivities
    from models.payloads import (
        ExtendReply,
        ExtendRequest,
        StaffActionReply,
        StaffActionRequest,
        voided_message,
    )
    from models.statuses import TERMINAL, AttemptStatus, ReviewState, StepEvent
    from models.time_limits import extend_refusal

S = AttemptStatus
IN_SESSION = frozenset({S.AWAITING_SETUP, S.IN_PROGRESS})
ASKS_VENDOR = frozenset({S.AWAITING_SETUP, S.IN_PROGRESS, S.AWAITING_AUDIT})


class StaffActions(VendorWaits):
    _voiding: StaffActionRequest | None
    _void_written: bool  # the `voided` step is in the database: the staff member's reply may go

    @workflow.update
    async def extend(self, request: ExtendRequest) -> ExtendReply:
        """Staff add minutes to the learner's session: the cap moves here at once, then at
        ProctorFree (whose answer the reply gives)."""
        self._extra_minutes += request.minutes
        allowed = self._time_limit_minutes()
        assert allowed is not None  # the validator refused an attempt without a limit
        not_taken = await self._try_vendor(VendorActivities.set_time_limit)
        detail: dict[str, Any] = {
            "minutes": request.minutes,
            "allowed_minutes": allowed,
            "reason": request.reason,
            "by": request.by,
        }
        if not_taken:
            detail["vendor_not_updated"] = not_taken
        self._note(StepEvent.TIME_EXTENDED, detail)
        await self._flush()
        message = f"{request.minutes} minutes added: the session now ends {allowed} minutes after its start"
        if not_taken:
            message += f"; ProctorFree did not take the change ({not_taken}) and may end it sooner"
        return ExtendReply(allowed_minutes=allowed, message=message)

    @extend.validator
    def _validate_extend(self, request: ExtendRequest) -> None:
        if self._state.status not in IN_SESSION or self._state.finished:
            raise _refused(f"the learner is not in the session (the attempt is {self._state.status})")
        refusal = extend_refusal(self._attempt.method, self._time_limit_minutes(), request.minutes)
        if refusal:
            raise _refused(refusal)

    @workflow.update
    async def act(self, request: StaffActionRequest) -> StaffActionReply:
        if request.action in ("reset", "void"):
            self._voiding = request
            await workflow.wait_condition(lambda: self._void_written)
            return StaffActionReply(
                action=request.action, status=S.VOIDED, message=voided_message(request.action)
            )
        if request.action == "resume":
            self._resume_requested = True
            message = "resumed: the refused step is tried again"
        else:
            self._check_now = True
            message = "ProctorFree is asked now, not at the next poll"
        self._note(
            StepEvent.STAFF_ACTION, {"action": request.action, "reason": request.reason, "by": request.by}
        )
        await self._flush()
        return StaffActionReply(action=request.action, status=self._state.status, message=message)

    @act.validator
    def _validate_act(self, request: StaffActionRequest) -> None:
        status = self._state.status
        if request.action in ("reset", "void"):
            if status in TERMINAL or self._voiding is not None:
                raise _refused(f"the attempt is {status} already")
            if self._state.decision is not None:
                raise _refused("a reviewer's decision is completing it: void it once it has completed")
        elif request.action == "resume":
            if status != S.ERROR and self._published[0] != S.ERROR:
                raise _refused(f"the attempt is {status}, not parked in error: there is nothing to resume")
        elif status not in ASKS_VENDOR:
            raise _refused(f"the attempt is {status}: it waits for nothing from ProctorFree")

    async def _voided(self) -> None:
        """Staff voided the attempt: its open review task closed, the attempt `voided` (written
        before the reply goes out), then its ProctorFree session closed if ProctorFree lets us:
        a refusal or an outage is noted, and never holds up the staff member's reply."""
        request = self._voiding
        assert request is not None
        if self._state.review_state in (ReviewState.NOT_READY, ReviewState.READY_FOR_REVIEW):
            self._set_review_state(ReviewState.CLOSED)
        detail: dict[str, Any] = {"action": request.action, "reason": request.reason, "by": request.by}
        self._move(S.VOIDED, StepEvent.VOIDED, detail=detail)
        self._show_waiting_for("nothing: staff voided the attempt")
        await self._flush()
        self._void_written = True
        if self._state.vendor_session_id is not None and not self._state.finished:
            not_closed = await self._try_vendor(VendorActivities.close_session)
            if not_closed:
                self._note(StepEvent.SESSION_NOT_CLOSED, {"reason": not_closed})


def _refused(message: str) -> ApplicationError:
    return ApplicationError(message, type="StaffActionRefused", non_retryable=True)
