"""What every request handler needs, built once when the app starts."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request
from temporalio.client import Client

from proctorflow.crypto import SecretBox
from proctorflow.settings import Settings
from proctorfree.interface import ProctorFreeBackend
from store.db import SessionFactory


@dataclass
class Services:
    settings: Settings
    sessions: SessionFactory
    temporal: Client
    box: SecretBox
    vendor: ProctorFreeBackend  # to verify credentials when an integration is saved


def services(request: Request) -> Services:
    return request.app.state.services
