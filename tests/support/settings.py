"""Settings for a whole ProctorFlow on loopback: the web app and the ProctorFree emulator on free
ports, fresh secrets. Shared by the test stacks, the chaos test and the benchmark."""

from __future__ import annotations

import uuid
from typing import Any

from cryptography.fernet import Fernet

from proctorflow.settings import Settings
from tests.support.servers import HOST, free_port


def loopback_settings(
    database_url: str, temporal_address: str, task_queue: str, payload_keys: str, **overrides: Any
) -> Settings:
    web_port, emulator_port = free_port(), free_port()
    return Settings(
        database_url=database_url,
        temporal_address=temporal_address,
        task_queue=task_queue,
        lms_token=f"lms-{uuid.uuid4().hex}",
        secret_key=Fernet.generate_key().decode(),
        session_key=Fernet.generate_key().decode(),
        payload_keys=payload_keys,
        webhook_secret=f"whsec-{uuid.uuid4().hex}",
        proctorfree_url=f"http://{HOST}:{emulator_port}",
        public_url=f"http://{HOST}:{web_port}",
        http_port=web_port,
        emulator_port=emulator_port,
        # Every secret a production web app and worker need, so they also start as processes.
        **{"codec_token": f"codec-{uuid.uuid4().hex}", **overrides},
    )
