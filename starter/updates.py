"""Sending an Update to an attempt's workflow, the same way for every caller: a validator's or
handler's refusal is a 409 with its reason, a workflow that has closed is `WorkflowClosed`, and
an Update aborted before it was accepted is asked again."""

from __future__ import annotations

import asyncio
from typing import Any, TypeVar

from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode

from proctorflow.errors import Conflict

T = TypeVar("T")

# A signal (a vendor webhook) landing while the Update's workflow task completes fails that task
# ("UnhandledCommand") and the server aborts the not-yet-accepted Update with FAILED_PRECONDITION.
# Nothing was accepted: ask again.
UPDATE_TRIES = 3


class WorkflowClosed(Exception):
    """The Update found no running workflow."""


async def send_update(client: Client, workflow_id: str, update: Any, arg: Any, result_type: type[T]) -> T:
    for try_number in range(1, UPDATE_TRIES):
        try:
            return await _send(client, workflow_id, update, arg, result_type)
        except RPCError as error:
            if error.status != RPCStatusCode.FAILED_PRECONDITION:
                raise
            await asyncio.sleep(0.2 * try_number)
    return await _send(client, workflow_id, update, arg, result_type)


async def _send(client: Client, workflow_id: str, update: Any, arg: Any, result_type: type[T]) -> T:
    handle = client.get_workflow_handle(workflow_id)
    try:
        return await handle.execute_update(update, arg, result_type=result_type)
    except WorkflowUpdateFailedError as refused:
        cause = refused.cause
        raise Conflict(getattr(cause, "message", None) or str(cause)) from refused
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            raise WorkflowClosed(str(error)) from error
        raise
