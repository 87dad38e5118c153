"""A worker SIGKILLed while it sends an e-mail: the notice is still received exactly once.

The worker runs as its own process (`proctorflow worker`, as in production) on the real Temporal
dev server; a real SMTP server (aiosmtpd) holds the message's DATA without answering, the worker
is killed right then (no shutdown code runs), and the server sees its client go before it ever
answered 250: the message was never accepted. A fresh worker takes the notice's try over once
Temporal misses its heartbeat, and the server receives the notice once, with its own Message-ID.
"""

from __future__ import annotations

import asyncio
import time
import uuid

from models import notices as words
from models.tables import Notice
from store import notices
from store.db import make_engine, session_factory, transaction
from tests.reliability.support import WorkerProcess
from tests.support.database import fresh_database_url
from tests.support.keys import TEST_PAYLOAD_KEYS
from tests.support.settings import loopback_settings
from tests.support.smtp import SmtpSink

SENDER = "notices@school.example"
NOTICE = "escalation:kill-test:7"
PATIENCE = 120.0  # seconds for a worker process to start and send, or to take a try over


async def until(what: str, check, timeout: float = PATIENCE):
    deadline = time.monotonic() + timeout
    while True:
        found = await asyncio.to_thread(check)
        if found:
            return found
        assert time.monotonic() < deadline, f"never happened: {what}"
        await asyncio.sleep(0.2)


async def test_a_worker_killed_while_sending_a_notice_delivers_it_exactly_once(dev_server, tmp_path):
    database_url = await asyncio.to_thread(fresh_database_url, tmp_path)
    engine = make_engine(database_url)
    sessions = session_factory(engine)
    with transaction(sessions) as session:
        context = {"why": "overdue", "course_title": "Widgets", "lesson_title": "Final", "attempt_id": "a7"}
        notices.queue(session, "default", "escalation", NOTICE, "head@school.example", context)

    def stored() -> Notice:
        with sessions() as session:
            return session.get(Notice, NOTICE)

    sink = SmtpSink()
    sink.hold_next = 1  # the first try's DATA gets no answer
    settings = loopback_settings(
        database_url,
        dev_server.client.service_client.config.target_host,
        f"notice-kill-{uuid.uuid4().hex[:8]}",
        TEST_PAYLOAD_KEYS,
        smtp_url=sink.url,
        smtp_sender=SENDER,
        notice_first_retry=0.5,
        notice_max_retry=2.0,
    )
    first, fresh = WorkerProcess(settings), WorkerProcess(settings)
    with sink:
        try:
            first.start()
            await until("the first worker sends the notice as far as DATA", sink.held.is_set)
            assert (stored().state, stored().tries) == ("pending", 1)
            first.kill()  # while the server has the whole message and has not answered
            await until("the server sees its client go", lambda: sink.dropped, timeout=15)
            assert sink.accepted == [] and stored().state == "pending"

            fresh.start()
            sent = await until("a fresh worker sends it", lambda: (n := stored()).state == "sent" and n)
            await asyncio.sleep(3)  # a second copy would come within the backoff's 2 s
        finally:
            first.stop()
            fresh.stop()
    engine.dispose()

    message_id = words.message_id(NOTICE, SENDER)
    assert [m.message_id for m in sink.dropped] == [message_id]  # the killed try reached DATA
    (received,) = sink.accepted
    assert received.message_id == message_id
    assert received.rcpt_tos == ("head@school.example",)
    assert received.subject == "Review task escalated: Widgets / Final"
    assert [m.message_id for m in sink.data_seen] == [message_id, message_id]
    assert (sent.tries, sent.last_error) == (2, None)
    assert (first.kills, fresh.starts) == (1, 1)
