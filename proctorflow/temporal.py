"""The Temporal connection every client and worker shares: one data converter, one place."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from temporalio.client import Client
from temporalio.common import SearchAttributeKey
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter
from temporalio.runtime import Runtime
from temporalio.service import TLSConfig

from proctorflow.codec import EncryptionCodec, PayloadKeys, load_or_create_keys
from proctorflow.settings import Settings

DEV_PAYLOAD_KEYS = Path(".data/payload.keys")


def payload_keys(settings: Settings) -> PayloadKeys:
    if settings.payload_keys:
        return PayloadKeys.parse(settings.payload_keys)
    return load_or_create_keys(DEV_PAYLOAD_KEYS)


def data_converter(keys: PayloadKeys) -> DataConverter:
    """Pydantic models in, AES-GCM-sealed payloads out: the same on every client and worker."""
    return dataclasses.replace(pydantic_data_converter, payload_codec=EncryptionCodec(keys))


async def connect(settings: Settings, address: str | None = None, runtime: Runtime | None = None) -> Client:
    target = address or settings.temporal_address
    if not target:
        raise RuntimeError("PROCTORFLOW_TEMPORAL_ADDRESS is not set (dev mode sets it for you)")
    return await Client.connect(
        target,
        namespace=settings.temporal_namespace,
        data_converter=data_converter(payload_keys(settings)),
        api_key=settings.temporal_api_key,
        tls=_tls(settings),
        runtime=runtime,
    )


def _tls(settings: Settings) -> TLSConfig | bool:
    if settings.temporal_tls_cert and settings.temporal_tls_key:
        return TLSConfig(
            client_cert=Path(settings.temporal_tls_cert).read_bytes(),
            client_private_key=Path(settings.temporal_tls_key).read_bytes(),
        )
    return settings.temporal_api_key is not None


async def register_search_attributes(
    client: Client, keys: Iterable[SearchAttributeKey[Any]], namespace: str = "default"
) -> None:
    """Register the given search attributes as keywords (idempotent). The callers (`proctorflow
    setup`, dev mode, the tests) pass ProctorFlow's: `workflows.search_attributes.ALL`."""
    from temporalio.api.enums.v1 import IndexedValueType
    from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
    from temporalio.service import RPCError, RPCStatusCode

    for key in keys:
        request = AddSearchAttributesRequest(
            namespace=namespace, search_attributes={key.name: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD}
        )
        try:
            await client.operator_service.add_search_attributes(request)
        except RPCError as error:
            if error.status != RPCStatusCode.ALREADY_EXISTS and "already" not in error.message.lower():
                raise
