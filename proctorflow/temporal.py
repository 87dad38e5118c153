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
