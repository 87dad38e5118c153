"""The Temporal connection every client and worker shares: one data converter, one place."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from temporalio.client import Client
from temporalio.common import SearchAttributeKey
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes
from temporalio.runtime import Runtime
from temporalio.service import TLSConfig

from proctorflow.codec import EncryptionCodec, PayloadKeys
from proctorflow.settings import Settings


def payload_keys(settings: Settings) -> PayloadKeys:
    """The configured key ring (dev mode passes the one it keeps under `.data/`); never a new one."""
    if not settings.payload_keys:
        raise ValueError("PROCTORFLOW_PAYLOAD_KEYS is not set: Temporal payloads cannot be sealed or opened")
    return PayloadKeys.parse(settings.payload_keys)


def pseudonym_keys(settings: Settings) -> list[bytes]:
    """The keys of `LearnerId` pseudonyms (`workflows.search_attributes.learner_pseudonym`), the
    one new attempts use first: PROCTORFLOW_LEARNER_PSEUDONYM_KEY, or else one derived from each
    payload key, current first (a search lists them all, so attempts started before a rotation
    are still found)."""
    if settings.learner_pseudonym_key:
        return [settings.learner_pseudonym_key.encode()]
    keys = payload_keys(settings)
    order = [keys.current, *(key_id for key_id in keys.keys if key_id != keys.current)]
    return [hmac.new(keys.keys[key_id], PSEUDONYM_KEY_INFO, hashlib.sha256).digest() for key_id in order]


PSEUDONYM_KEY_INFO = b"proctorflow LearnerId pseudonym v1"


def data_converter(keys: PayloadKeys) -> DataConverter:
    """Pydantic models in, AES-GCM-sealed payloads out: the same on every client and worker.

    Failures are sealed too: their message and stack trace (a vendor's error text, a learner id
    in an exception) travel in the failure's encoded attributes, a payload the codec encrypts;
    the server keeps "Encoded failure" and the failure's type. Workers and clients open them
    again, and the codec endpoint opens them for the Temporal UI."""
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=EncryptionCodec(keys),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


async def connect(
    settings: Settings, address: str | None = None, runtime: Runtime | None = None, sealed: bool = True
) -> Client:
    """A client whose payloads are sealed with the settings' key ring. `sealed=False` is for
    callers that send and read no payloads at all (registering search attributes, describing
    workflows): they need no key ring."""
    target = address or settings.temporal_address
    if not target:
        raise RuntimeError("PROCTORFLOW_TEMPORAL_ADDRESS is not set (dev mode sets it for you)")
    return await Client.connect(
        target,
        namespace=settings.temporal_namespace,
        data_converter=data_converter(payload_keys(settings)) if sealed else pydantic_data_converter,
        api_key=settings.temporal_api_key,
        tls=_tls(settings),
        runtime=runtime,
    )


def _tls(settings: Settings) -> TLSConfig | bool:
    """mTLS with a client certificate (and, self-hosted, the server's CA and name), TLS alone for
    an API key (Temporal Cloud), else plaintext (dev mode, a frontend on a private network)."""
    mutual = settings.temporal_tls_cert and settings.temporal_tls_key
    if mutual or settings.temporal_tls_ca:
        return TLSConfig(
            server_root_ca_cert=_read(settings.temporal_tls_ca),
            domain=settings.temporal_tls_server_name,
            client_cert=_read(settings.temporal_tls_cert if mutual else None),
            client_private_key=_read(settings.temporal_tls_key if mutual else None),
        )
    return settings.temporal_api_key is not None


def _read(path: str | None) -> bytes | None:
    return Path(path).read_bytes() if path else None


async def register_search_attributes(
    client: Client, keys: Iterable[SearchAttributeKey[Any]], namespace: str = "default"
) -> None:
    """Register the given search attributes, each with its type (idempotent). The callers
    (`proctorflow setup`, dev mode, the tests) pass ProctorFlow's: `workflows.search_attributes.ALL`."""
    from temporalio.api.enums.v1 import IndexedValueType
    from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
    from temporalio.service import RPCError, RPCStatusCode

    for key in keys:
        request = AddSearchAttributesRequest(
            namespace=namespace,
            search_attributes={key.name: IndexedValueType.ValueType(int(key.indexed_value_type))},
        )
        try:
            await client.operator_service.add_search_attributes(request)
        except RPCError as error:
            if error.status != RPCStatusCode.ALREADY_EXISTS and "already" not in error.message.lower():
                raise
