"""`proctorflow mail-sink`: dev mode's local SMTP server (aiosmtpd) and the page that lists what it
received. It delivers nothing: every message it accepts is written to its folder (one `.eml` file
each, under the data folder in dev mode, so a restart still lists them) and shown, newest first,
at `http://127.0.0.1:8026/` (`/messages.json` for scripts).

aiosmtpd is a dev dependency (`make dev` installs it); ProctorFlow's image does not have it.
"""

from __future__ import annotations

import asyncio
import html
import itertools
import logging
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from cli.common import UsageError

log = logging.getLogger("proctorflow.mail-sink")

SHOWN = 200  # messages the page lists, newest first


class FolderHandler:
    """aiosmtpd's handler: each message accepted is one file in the folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._count = itertools.count(1)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        content = envelope.original_content or envelope.content
        if isinstance(content, str):
            content = content.encode()
        name = f"{datetime.now(UTC):%Y%m%dT%H%M%S%f}-{next(self._count):04d}.eml"
        (self.folder / name).write_bytes(content)
        log.info("received a message (%d bytes): %s", len(content), name)
        return "250 Message accepted for delivery"


def received(folder: Path, limit: int = SHOWN) -> list[dict[str, str]]:
    """The messages in the folder, newest first."""
    found = []
    for path in sorted(folder.glob("*.eml"), reverse=True)[:limit]:
        message: EmailMessage = message_from_bytes(path.read_bytes(), policy=policy.default)  # type: ignore[assignment]
        body = message.get_body(("plain",))
        found.append(
            {
                "file": path.name,
                "message_id": str(message.get("Message-ID", "")),
                "date": str(message.get("Date", "")),
                "from": str(message.get("From", "")),
                "to": str(message.get("To", "")),
                "subject": str(message.get("Subject", "")),
                "body": body.get_content().replace("\r\n", "\n") if body is not None else "",
            }
        )
    return found


def page(messages: list[dict[str, str]], smtp: str) -> str:
    rows = "".join(
        "<article><h2>{subject}</h2><p><b>From</b> {sender} &nbsp; <b>To</b> {to} &nbsp; <b>Date</b> {date}"
        "<br><small>{message_id}</small></p><pre>{body}</pre></article>".format(
            subject=html.escape(m["subject"]),
            sender=html.escape(m["from"]),
            to=html.escape(m["to"]),
            date=html.escape(m["date"]),
            message_id=html.escape(m["message_id"]),
            body=html.escape(m["body"]),
        )
        for m in messages
    )
    empty = "<p>Nothing received yet.</p>" if not messages else ""
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Mail sink</title>"
        "<meta http-equiv='refresh' content='5'>"
        "<style>body{font-family:sans-serif;max-width:60rem;margin:2rem auto}"
        "article{border-top:1px solid #ccc;padding:.5rem 0}pre{white-space:pre-wrap}</style></head>"
        f"<body><h1>E-mail sent by ProctorFlow ({len(messages)})</h1>"
        f"<p>The local SMTP sink at {html.escape(smtp)} delivers nothing: it keeps each message "
        "and lists it here, newest first.</p>"
        f"{empty}{rows}</body></html>"
    )


def create_page_app(folder: Path, smtp: str):
    from starlette.applications import Starlette
    from starlette.responses import HTMLResponse, JSONResponse
    from starlette.routing import Route

    async def index(request) -> HTMLResponse:
        return HTMLResponse(page(await asyncio.to_thread(received, folder), smtp))

    async def as_json(request) -> JSONResponse:
        return JSONResponse(await asyncio.to_thread(received, folder))

    async def healthz(request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    return Starlette(routes=[Route("/", index), Route("/messages.json", as_json), Route("/healthz", healthz)])


def run_mail_sink(host: str, smtp_port: int, http_port: int, folder: Path) -> None:
    try:
        from aiosmtpd.smtp import SMTP
    except ImportError:
        raise UsageError("aiosmtpd is not installed: `pip install aiosmtpd` (make dev installs it)") from None
    import uvicorn

    folder.mkdir(parents=True, exist_ok=True)
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd's: every command, addresses too
    smtp = f"smtp://{host}:{smtp_port}"

    async def serve() -> None:
        handler = FolderHandler(folder)
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: SMTP(handler, hostname="proctorflow-mail-sink"), host, smtp_port
        )
        log.info("SMTP sink at %s; what it receives: http://%s:%d/", smtp, host, http_port)
        config = uvicorn.Config(
            create_page_app(folder, smtp), host=host, port=http_port, log_level="warning", access_log=False
        )
        try:
            await uvicorn.Server(config).serve()  # until SIGINT or SIGTERM
        finally:
            server.close()

    asyncio.run(serve())
