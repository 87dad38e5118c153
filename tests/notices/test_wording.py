"""Notices as words and as SMTP: the built-in wording of every kind in every locale, filling in
a template, the Message-ID, the SMTP URL, and one message through a real SMTP server (aiosmtpd)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from models import notices as words
from models.settings import NOTICE_KINDS
from proctorflow import mail
from tests.support.servers import free_port
from tests.support.smtp import SmtpSink

# What each kind's context holds (store/notices.py), and so what its built-in wording may use.
ATTEMPT = {"course_title", "lesson_title", "attempt_id", "sender_name"}
KNOWN = {
    "learner_submitted": ATTEMPT | {"learner_name"},
    "learner_decided": ATTEMPT | {"learner_name", "decision"},
    "escalation": ATTEMPT | {"why", "due_at", "task_url"},
    "reviewer_digest": {"date", "count", "tasks", "review_url", "sender_name"},
}


@pytest.mark.parametrize("locale", words.LOCALES)
@pytest.mark.parametrize("kind", NOTICE_KINDS)
def test_every_kind_has_built_in_wording_in_every_locale_using_only_what_it_is_given(kind, locale):
    wording = words.built_in(kind, locale)
    used = set(words.PLACEHOLDER.findall(wording.subject + wording.body))
    assert used <= KNOWN[kind], used - KNOWN[kind]
    if locale != "en":  # its own words, not English's
        assert wording.body != words.built_in(kind, "en").body
    if kind.startswith("learner"):
        assert "{learner_name}" in wording.body and "{lesson_title}" in wording.subject


def test_filling_in_replaces_what_it_knows_and_leaves_the_rest_as_written():
    template = "Hi {learner_name}: {lesson_title} {unknown} {learner_name.__class__} {0} {{x}}"
    filled = words.fill(template, {"learner_name": "Ada {lesson_title}", "lesson_title": "Final"})
    # One pass: a value is never filled in again, and nothing but {name} is a placeholder.
    assert filled == "Hi Ada {lesson_title}: Final {unknown} {learner_name.__class__} {0} {{x}}"


def test_a_subject_is_one_line_and_not_too_long():
    assert words.subject_line("a\r\nb\tc") == "a b c"
    assert len(words.subject_line("x" * 500)) == words.SUBJECT_MAX


def test_the_message_id_is_the_notices_own_on_every_try_and_names_the_senders_domain():
    first = words.message_id("learner_decided:a1", "notices@school.example")
    assert first == words.message_id("learner_decided:a1", "notices@school.example")
    assert first != words.message_id("learner_submitted:a1", "notices@school.example")
    assert first.startswith("<notice-") and first.endswith("@school.example>")
    assert "a1" not in first and ":" not in first


def test_decisions_and_escalations_in_words_of_the_locale():
    assert words.decision_words("pass", "fr") == "validée"
    assert words.decision_words("fail", "de") == "nicht bestanden"
    assert words.escalation_words("disagreement", "es") == "los dos revisores no están de acuerdo"
    assert words.decision_words("pass", "xx") == "passed"  # an unknown locale reads English


def test_a_long_digest_lists_the_first_tasks_and_counts_the_rest():
    tasks = [
        {"task_id": f"t{i}", "course_title": "C", "lesson_title": "L", "ready_at": "2026-01-01 07:00 UTC"}
        for i in range(words.DIGEST_MAX_TASKS + 3)
    ]
    listed = words.digest_list(tasks, "en").splitlines()
    assert len(listed) == words.DIGEST_MAX_TASKS + 1
    assert listed[0] == "- C / L: ready since 2026-01-01 07:00 UTC (task t0)"
    assert listed[-1] == "… and 3 more"


# --- The SMTP URL -----------------------------------------------------------------------------


def test_the_smtp_url_says_host_port_tls_and_login():
    target = mail.parse_smtp_url("smtp://me%40school.example:p%40ss@mail.example:587?starttls=true")
    assert (target.host, target.port, target.starttls) == ("mail.example", 587, True)
    assert not target.implicit_tls
    assert (target.username, target.password) == ("me@school.example", "p@ss")
    assert "p@ss" not in repr(target) and "p%40ss" not in repr(target)
    assert mail.parse_smtp_url("smtps://relay.example").port == 465
    assert mail.parse_smtp_url("smtp://relay.example").port == 25


@pytest.mark.parametrize(
    ("url", "words_"),
    [
        ("http://mail.example", "smtp://"),
        ("smtp://", "host"),
        ("smtp://mail.example:x", "port"),
        ("smtp://mail.example?tls=1", "unknown option"),
        ("smtp://mail.example?starttls=maybe", "true or false"),
        ("smtps://mail.example?starttls=true", "TLS already"),
    ],
)
def test_an_unusable_smtp_url_is_refused_in_words(url, words_):
    with pytest.raises(ValueError, match=words_):
        mail.parse_smtp_url(url)


# --- One message through a real SMTP server ------------------------------------------------------


def message(to: str = "ada@example.org", subject: str = "Ihr Versuch „Prüfung“: bestanden") -> object:
    return mail.build_message(
        message_id=words.message_id("n1", "notices@school.example"),
        sender="notices@school.example",
        sender_name="École Widget",
        to=to,
        subject=subject,
        body="Hallo Ada,\n\nÜbung macht den Meister.\n",
        at=datetime(2026, 12, 1, 9, 30, tzinfo=UTC),
        language="de",
    )


def test_a_message_reaches_a_real_smtp_server_whole():
    with SmtpSink() as sink:
        assert mail.send(mail.parse_smtp_url(sink.url), message(), timeout=10) is None
    (got,) = sink.accepted
    assert got.rcpt_tos == ("ada@example.org",)
    assert got.subject == "Ihr Versuch „Prüfung“: bestanden"
    assert got.sender == "École Widget <notices@school.example>"
    assert got.body == "Hallo Ada,\n\nÜbung macht den Meister.\n"
    assert got.message_id == words.message_id("n1", "notices@school.example")
    assert got.message["Auto-Submitted"] == "auto-generated"
    assert got.message["Content-Language"] == "de"


def test_a_recipient_refused_for_good_is_refused_without_its_address_in_the_reason():
    with SmtpSink() as sink:
        sink.refused_recipients.add("gone@example.org")
        with pytest.raises(mail.Refused) as refused:
            mail.send(mail.parse_smtp_url(sink.url), message(to="gone@example.org"), timeout=10)
        # Some refused, some taken: sent, and what was refused is said.
        note = mail.send(
            mail.parse_smtp_url(sink.url), message(to="gone@example.org, ada@example.org"), timeout=10
        )
    assert "550" in str(refused.value) and "@" not in str(refused.value)
    assert note == "1 recipient(s) refused (550)"
    assert [m.rcpt_tos for m in sink.accepted] == [("ada@example.org",)]


def test_a_server_that_is_not_there_is_worth_another_try():
    target = mail.parse_smtp_url(f"smtp://127.0.0.1:{free_port()}")
    with pytest.raises(mail.NotSent, match="could not be reached"):
        mail.send(target, message(), timeout=5)
