"""The emulator's knobs, and how an /api/v1 call fails when a fault fires.

Faults apply to the vendor API only: the control API and the learner pages always work, so a
test can break the API and still drive the learner through it.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any, Literal

from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

FaultKind = Literal["5xx", "timeout", "429", "malformed"]

# A 200 whose body stops mid-object: what a proxy cutting a response short looks like.
MALFORMED_BODY = b'{"session_id": '


class Faults(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    fail_next: int = Field(0, ge=0)  # the next N API calls fail with `fault`
    fault: FaultKind = "5xx"
    error_rate: float = Field(0.0, ge=0.0, le=1.0)  # random failures, drawn from error_kinds
    error_kinds: list[FaultKind] = Field(default_factory=lambda: ["5xx"], min_length=1)
    seed: int | None = None  # makes error_rate reproducible
    retry_after_seconds: int = Field(1, ge=0)  # Retry-After of a "429"
    timeout_seconds: float = Field(15.0, ge=0.0)  # how long a "timeout" hangs before a 504
    revoked_api_keys: list[str] = Field(default_factory=list)
    audit_delay_seconds: float = Field(5.0, ge=0.0)  # full method: finish -> audit complete
    audit_ready_after_checks: int | None = Field(None, ge=1)  # ...or after N status reads
    send_webhooks: bool = True
    # Real seconds in an emulated minute of a time limit: small ones run a "10-minute" session
    # in seconds. Changing it moves the ends of running sessions too.
    minute_seconds: float = Field(60.0, gt=0.0)
    id_check: bool = False  # the profile step also captures an ID


class InjectedFault(Exception):
    """Raised before an /api/v1 handler runs, so a failed call never changes state."""

    def __init__(self, kind: FaultKind) -> None:
        super().__init__(kind)
        self.kind = kind


class FaultPlan:
    """The current knobs, and the call-by-call decision whether the next API call fails."""

    def __init__(self, faults: Faults) -> None:
        self._initial = faults.model_copy(deep=True)
        self.faults = faults.model_copy(deep=True)
        self._rng = random.Random(faults.seed)

    def update(self, changes: dict[str, Any]) -> Faults:
        """Merge a partial update onto the current knobs (validated as a whole)."""
        self.faults = Faults.model_validate(self.faults.model_dump() | changes)
        self._rng = random.Random(self.faults.seed)
        return self.faults

    def reset(self) -> None:
        self.faults = self._initial.model_copy(deep=True)
        self._rng = random.Random(self.faults.seed)

    def next_fault(self) -> FaultKind | None:
        if self.faults.fail_next > 0:
            self.faults.fail_next -= 1
            return self.faults.fault
        if self.faults.error_rate > 0 and self._rng.random() < self.faults.error_rate:
            return self._rng.choice(self.faults.error_kinds)
        return None


async def fault_response(kind: FaultKind, faults: Faults) -> Response:
    if kind == "timeout":
        # Hang past the caller's timeout, then answer as a gateway would.
        await asyncio.sleep(faults.timeout_seconds)
        return _error(504, "gateway_timeout", "Injected fault: the upstream timed out.")
    if kind == "429":
        return _error(
            429,
            "rate_limited",
            "Injected fault: too many requests.",
            headers={"Retry-After": str(faults.retry_after_seconds)},
        )
    if kind == "malformed":
        return Response(MALFORMED_BODY, status_code=200, media_type="application/json")
    return _error(503, "service_unavailable", "Injected fault: the service is unavailable.")


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": code, "message": message}, status_code=status, headers=headers)
