"""What the API answers when Temporal itself does not: a 503 with a reason, never a bare 500."""

from __future__ import annotations

import pytest
from temporalio.client import WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.service import RPCError, RPCStatusCode

from web.api.common import Unavailable, temporal_reachable


async def test_an_unreachable_workflow_service_is_a_503_that_says_nothing_was_lost():
    with pytest.raises(Unavailable, match="nothing was lost") as refused:
        async with temporal_reachable():
            raise RPCError("connection refused", RPCStatusCode.UNAVAILABLE, b"")
    assert refused.value.status == 503


async def test_a_decision_whose_update_timed_out_is_a_503_that_says_it_may_still_apply():
    with pytest.raises(Unavailable, match="may still take effect") as refused:
        async with temporal_reachable():
            raise WorkflowUpdateRPCTimeoutOrCancelledError()
    assert refused.value.status == 503
