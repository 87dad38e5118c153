"""What every request handler needs, built once when the app starts."""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import Request
from temporalio.client import Client

from proctorflow.crypto import SecretBox
from proctorflow.settings import Settings
from proctorfree.interface import ProctorFreeBackend
from store.db import SessionFactory
from web.tokens import KnownTokens


@dataclass
class Services:
    settings: Settings
    sessions: SessionFactory
    temporal: Client
    box: SecretBox
    vendor: ProctorFreeBackend  # to verify credentials when an integration is saved
    tokens: KnownTokens = field(default_factory=KnownTokens)


def services_of(request: Request) -> Services:
    return request.app.state.services


async def services(request: Request) -> Services:
    """The dependency; async, since FastAPI runs a plain function in a thread on every request."""
    return services_of(request)
