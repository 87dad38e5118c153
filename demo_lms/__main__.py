"""`python -m demo_lms`: serve the demo LMS (from the source tree; it is not installed with
ProctorFlow). Settings: PROCTORFLOW_DEMO_LMS_* (see demo_lms/settings.py). It exits non-zero
when it cannot register with ProctorFlow (the log says why)."""

from __future__ import annotations

import logging

import uvicorn

from demo_lms.app import create_app
from demo_lms.settings import DemoLmsSettings


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # the web app logs every API call already
    settings = DemoLmsSettings()
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        timeout_graceful_shutdown=5,
        log_level="warning",
    )


if __name__ == "__main__":
    main()
