"""E-mail notices, sent: received by a real SMTP server (aiosmtpd) from the real worker on the real
Temporal dev server, for a real attempt driven through the API and the ProctorFree emulator; an
SMTP server that is down, then back; a recipient refused for good; the reviewers' digest from its
Temporal Schedule; and no SMTP server configured at all."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from models import notices as words
from models.settings import Notifications, SettingsIn
from models.tables import Notice
from store import notices
from store import settings as org_settings
from store.catalog import DEFAULT_ORG
from store.db import transaction
from tests.api.helpers import (
    decide,
    learner_takes_exam,
    open_attempt,
    proctored_course,
    review_task_of,
    unique,
)
from tests.support.database import DatabaseOutage
from tests.support.servers import free_port
from tests.support.smtp import SmtpSink
from tests.support.stack import Stack, running_stack
from workflows.notices import digest_schedule_id

SENDER = "notices@school.example"
QUICK_MAIL = dict(smtp_sender=SENDER, notice_first_retry=0.2, notice_max_retry=1.0)


def configure(stack: Stack, **settings) -> None:
    with transaction(stack.sessions) as session:
        org_settings.write(session, DEFAULT_ORG, SettingsIn(**settings))


def stored(stack: Stack, notice_id: str) -> Notice | None:
    with stack.sessions() as session:
        return session.get(Notice, notice_id)


async def notice_when(
    stack: Stack, notice_id: str, predicate: Callable[[Notice], bool], timeout: float = 60
) -> Notice:
    deadline = time.monotonic() + timeout
    while True:
        notice = await asyncio.to_thread(stored, stack, notice_id)
        if notice is not None and predicate(notice):
            return notice
        assert time.monotonic() < deadline, f"notice {notice_id} never got there: {notice}"
        await asyncio.sleep(0.1)


def queue_one(stack: Stack, key: str, to: str) -> None:
    with transaction(stack.sessions) as session:
        assert notices.queue(session, DEFAULT_ORG, "escalation", key, to, {"why": "a test", "task_url": "x"})


async def test_the_learner_receives_one_e_mail_when_the_attempt_is_submitted_and_one_when_decided(
    dev_server, tmp_path
):
    with SmtpSink() as sink:
        async with running_stack(dev_server.client, tmp_path, smtp_url=sink.url, **QUICK_MAIL) as stack:
            configure(
                stack,
                notifications=Notifications(learner_submitted=True, learner_decided=True),
                sender_name="Widget Academy",
            )
            course_id, _ = await proctored_course(stack.api)
            attempt_id = (await open_attempt(stack.api, course_id, unique("learner")))["attempt_id"]
            await learner_takes_exam(stack, attempt_id)
            submitted = await sink.wait_for(lambda got: len(got) == 1)
            task = await review_task_of(stack, attempt_id, "ready_for_review")
            await decide(stack, task["id"], "pass")
            await stack.wait_for_attempt(attempt_id, lambda a: a["status"] == "completed")
            received = await sink.wait_for(lambda got: len(got) == 2)
            await asyncio.sleep(1.5)  # and nothing more comes
            both = [
                await notice_when(stack, f"{kind}:{attempt_id}", lambda n: n.state == "sent")
                for kind in ("learner_submitted", "learner_decided")
            ]
    assert len(sink.accepted) == 2 and submitted[0] == received[0]
    first, second = received
    for message, notice in zip(received, both, strict=True):
        assert message.rcpt_tos == ("ada.lovelace@example.org",)
        assert message.to == "ada.lovelace@example.org"
        assert message.sender == f"Widget Academy <{SENDER}>"
        assert message.message_id == words.message_id(notice.id, SENDER)
        assert (message.subject, message.body) == (notice.subject, notice.body)
        assert notice.tries == 1 and notice.sent_at is not None and notice.last_error is None
    assert first.subject == "We received your attempt: Final exam"
    assert first.body.startswith("Hello Ada Lovelace,\n") and f"Attempt: {attempt_id}" in first.body
    assert second.subject == "Your attempt at Final exam: passed"


async def test_an_smtp_server_that_is_down_gets_the_notice_once_it_is_back(dev_server, tmp_path):
    sink = SmtpSink(port=free_port())  # not started: nothing listens there yet
    async with running_stack(dev_server.client, tmp_path, smtp_url=sink.url, **QUICK_MAIL) as stack:
        queue_one(stack, "escalation:down:1", "head@school.example")
        failing = await notice_when(stack, "escalation:down:1", lambda n: n.tries >= 3)
        assert failing.state == "pending"
        assert failing.last_error == "the server could not be reached (ConnectionRefusedError)"
        with sink:
            sent = await notice_when(stack, "escalation:down:1", lambda n: n.state == "sent")
            await asyncio.sleep(2)  # retries back off to 1 s: a second copy would have come by now
    (message,) = sink.accepted
    assert message.message_id == words.message_id("escalation:down:1", SENDER)
    assert message.rcpt_tos == ("head@school.example",)
    assert sent.tries >= 4 and sent.last_error is None


async def test_a_notice_accepted_while_the_database_refuses_its_mark_is_marked_later_never_sent_again(
    dev_server, tmp_path
):
    with SmtpSink() as sink:
        sink.hold_next = 1  # the server takes the message, and answers when the test says
        async with running_stack(dev_server.client, tmp_path, smtp_url=sink.url, **QUICK_MAIL) as stack:
            queue_one(stack, "escalation:outage:1", "head@school.example")
            assert await asyncio.to_thread(sink.held.wait, 60)
            outage = DatabaseOutage(stack.settings.database_url)
            holding = asyncio.create_task(outage.hold(15))
            await asyncio.sleep(1)  # the database refuses writers from now on
            sink.release()  # 250: accepted, and the try's mark meets the outage
            await holding
            sent = await notice_when(stack, "escalation:outage:1", lambda n: n.state == "sent")
            await asyncio.sleep(2)
    assert outage.held_seconds >= 14
    assert len(sink.accepted) == 1 and len(sink.data_seen) == 1  # sent once, never again
    assert (sent.tries, sent.last_error) == (1, None)  # the retry marked it without a try of its own


async def test_a_recipient_refused_for_good_fails_the_notice_at_once_with_the_reason(dev_server, tmp_path):
    with SmtpSink() as sink:
        sink.refused_recipients.add("gone@school.example")
        async with running_stack(dev_server.client, tmp_path, smtp_url=sink.url, **QUICK_MAIL) as stack:
            queue_one(stack, "escalation:gone:1", "gone@school.example")
            failed = await notice_when(stack, "escalation:gone:1", lambda n: n.state == "failed")
            await asyncio.sleep(1)
            assert stored(stack, "escalation:gone:1").tries == 1  # not tried again
    assert sink.accepted == []
    assert failed.last_error == "the server refused every recipient (550)"
    assert failed.sent_at is None


async def test_the_reviewers_digest_comes_from_its_schedule_once_a_day(dev_server, tmp_path):
    recipients = ["rita@school.example", "ravi@school.example"]
    with SmtpSink() as sink:
        async with running_stack(dev_server.client, tmp_path, smtp_url=sink.url, **QUICK_MAIL) as stack:
            configure(stack, notifications=Notifications(reviewer_digest=True, digest_recipients=recipients))
            course_id, _ = await proctored_course(stack.api)
            attempt_id = (await open_attempt(stack.api, course_id, unique("learner")))["attempt_id"]
            await learner_takes_exam(stack, attempt_id)
            task = await review_task_of(stack, attempt_id, "ready_for_review")

            schedule = stack.client.get_schedule_handle(digest_schedule_id(stack.settings.task_queue))
            description = await schedule.describe()
            (daily,) = description.schedule.spec.calendars  # DIGEST_CRON, as the server keeps it
            assert [(r.start, r.end) for r in (*daily.hour, *daily.minute)] == [(7, 7), (0, 0)]
            await schedule.trigger()
            (digest,) = await sink.wait_for(lambda got: len(got) == 1)
            await schedule.trigger()  # the same day again
            await asyncio.sleep(3)
    assert len(sink.accepted) == 1
    assert sorted(digest.rcpt_tos) == sorted(recipients)
    assert digest.subject.startswith("Proctoring reviews waiting on ") and digest.subject.endswith(": 1")
    assert "- Certified Widget Engineer / Final exam: ready since " in digest.body
    assert f"(task {task['id']})" in digest.body
    assert f"Review them at {stack.settings.public_url}/review/tasks" in digest.body
    assert "Ada" not in digest.body and "ada.lovelace" not in digest.body


async def test_without_an_smtp_server_notices_are_kept_pending_and_the_worker_says_why(
    dev_server, tmp_path, caplog
):
    caplog.set_level(logging.WARNING, logger="proctorflow")
    async with running_stack(dev_server.client, tmp_path, smtp_sender=SENDER) as stack:
        queue_one(stack, "escalation:nowhere:1", "head@school.example")
        await asyncio.sleep(3)
        kept = stored(stack, "escalation:nowhere:1")
    assert (kept.state, kept.tries) == ("pending", 0)
    said = [r.getMessage() for r in caplog.records if "PROCTORFLOW_SMTP_URL is not set" in r.getMessage()]
    assert said and "kept pending" in said[0], caplog.text
