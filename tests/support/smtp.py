"""A real SMTP server for the e-mail tests (aiosmtpd, on a thread of its own, on 127.0.0.1): it
keeps every message it accepts, and can refuse a recipient for good, or hold a message's DATA
without answering until its client goes away (a worker killed while sending), or until released.

A message held when its client goes away is *not* accepted: the server never answered 250, so no
real server would have taken it on (it is counted in `dropped`)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from tests.support.servers import HOST, free_port


@dataclass(frozen=True)
class Received:
    message: EmailMessage
    mail_from: str
    rcpt_tos: tuple[str, ...]

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def to(self) -> str:
        return str(self.message["To"])

    @property
    def sender(self) -> str:
        return str(self.message["From"])

    @property
    def body(self) -> str:
        text = self.message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        return text.replace("\r\n", "\n")  # as written: SMTP carries lines ending CRLF


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self._sink = sink

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:  # noqa: N802
        if address.lower() in self._sink.refused_recipients:
            return f"550 5.1.1 <{address}>: mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        sink = self._sink
        message: EmailMessage = message_from_bytes(envelope.content, policy=policy.default)  # type: ignore[assignment]
        received = Received(message, envelope.mail_from, tuple(envelope.rcpt_tos))
        sink.data_seen.append(received)
        if sink.hold_next > 0:
            sink.hold_next -= 1
            release = asyncio.Event()
            sink._releases.append((asyncio.get_running_loop(), release))
            sink.held.set()
            try:
                await release.wait()  # the client's connection closing cancels this
            except asyncio.CancelledError:
                sink.dropped.append(received)
                raise
        sink.accepted.append(received)
        return "250 2.0.0 Message accepted"


class SmtpSink:
    """`start()`, point PROCTORFLOW_SMTP_URL at `url`, read `accepted`; `stop()` (and `start()`
    again on the same port) to play an SMTP server that is down."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.accepted: list[Received] = []
        self.data_seen: list[Received] = []  # every message sent as far as DATA, accepted or not
        self.dropped: list[Received] = []  # held, and its client went away before an answer
        self.refused_recipients: set[str] = set()
        self.hold_next = 0  # DATA of the next this many messages is held without an answer
        self.held = threading.Event()
        self._releases: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []
        self._controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://{HOST}:{self.port}"

    def start(self) -> SmtpSink:
        self._controller = Controller(_Handler(self), hostname=HOST, port=self.port, ready_timeout=10)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def release(self) -> None:
        """Answer the held messages (250) after all."""
        for loop, release in self._releases:
            loop.call_soon_threadsafe(release.set)
        self._releases = []

    def __enter__(self) -> SmtpSink:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.release()
        self.stop()

    def with_id(self, message_id: str) -> list[Received]:
        return [m for m in self.accepted if m.message_id == message_id]

    async def wait_for(
        self, predicate: Callable[[list[Received]], bool], timeout: float = 60.0
    ) -> list[Received]:
        """Wait until `predicate(accepted)` holds; the messages accepted."""
        deadline = time.monotonic() + timeout
        while not predicate(list(self.accepted)):
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"the SMTP sink did not get there in {timeout:.0f}s; accepted: "
                    f"{[(m.subject, m.to) for m in self.accepted]}"
                )
            await asyncio.sleep(0.1)
        return list(self.accepted)
