"""The Temporal connection every client and worker shares: one data converter, one place."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from proctorflow.settings import Settings

DATA_CONVERTER = pydantic_data_converter


async def connect(settings: Settings, address: str | None = None) -> Client:
    target = address or settings.temporal_address
    if not target:
        raise RuntimeError("PROCTORFLOW_TEMPORAL_ADDRESS is not set (dev mode sets it for you)")
    return await Client.connect(target, namespace=settings.temporal_namespace, data_converter=DATA_CONVERTER)


async def register_search_attributes(client: Client, namespace: str = "default") -> None:
    """Register ProctorFlow's search attributes (idempotent); `proctorflow setup` and dev mode."""
    from temporalio.api.enums.v1 import IndexedValueType
    from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
    from temporalio.service import RPCError, RPCStatusCode

    from workflows.search_attributes import ALL

    for key in ALL:
        request = AddSearchAttributesRequest(
            namespace=namespace, search_attributes={key.name: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD}
        )
        try:
            await client.operator_service.add_search_attributes(request)
        except RPCError as error:
            if error.status != RPCStatusCode.ALREADY_EXISTS and "already" not in error.message.lower():
                raise
