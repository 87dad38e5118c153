"""The ProctorFree emulator as the benchmark runs it: its own process, settings from the
PROCTORFLOW_* environment, signed webhooks to the web app, no per-request access log (it would
spend the CPU the system under test needs). Audits land when the scripted auditor says so.

`python -m bench.vendor_process`
"""

from __future__ import annotations

import uvicorn

from cli.processes import HOST
from proctorflow.settings import get_settings
from proctorfree.emulator.app import create_app

AUDIT_DELAY_SECONDS = 3600.0  # the benchmark's auditor calls the control API instead


def main() -> None:
    settings = get_settings()
    app = create_app(
        webhook_url=f"{settings.public_url}/api/v1/webhooks/proctorfree",
        webhook_secret=settings.webhook_secret,
        audit_delay_seconds=AUDIT_DELAY_SECONDS,
    )
    uvicorn.run(app, host=HOST, port=settings.emulator_port, access_log=False, log_level="warning")


if __name__ == "__main__":
    main()
