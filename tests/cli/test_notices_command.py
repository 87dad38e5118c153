"""`proctorflow notices`: ops see the e-mail notices by state, list the failed ones and send one
again; never an address or a text."""

from __future__ import annotations

import cli
from models.tables import utcnow
from store import notices
from store.db import make_engine, session_factory, transaction
from store.migrate import upgrade


def queued(url: str) -> None:
    """Three notices of `acme`: one sent, one failed, one pending."""
    upgrade(url)
    engine = make_engine(url)
    sessions = session_factory(engine)
    with transaction(sessions) as session:
        for n in range(3):
            context = {"why": "overdue", "course_title": "Secret course title"}
            notices.queue(session, "acme", "escalation", f"escalation:a{n}:1", "head@acme.example", context)
    with transaction(sessions) as session:
        notices.claim_try(session, "escalation:a0:1")
        notices.mark_sent(session, "escalation:a0:1", utcnow())
        notices.claim_try(session, "escalation:a1:1")
        notices.give_up(session, "escalation:a1:1", "the server refused every recipient (550)")
    engine.dispose()


def test_notices_are_shown_by_state_without_addresses_or_texts(database, capsys):
    queued(database)

    assert cli.main(["notices"]) == 0
    out = capsys.readouterr().out
    assert "1 failed, 1 pending, 1 sent" in out
    assert "escalation:a1:1  failed   org acme  1 tries: the server refused every recipient (550)" in out
    assert "escalation:a2:1  pending" in out and "escalation:a0:1" not in out
    assert "head@acme.example" not in out and "Secret course title" not in out


def test_a_failed_notice_is_sent_again_on_request(database, capsys):
    queued(database)

    assert cli.main(["notices", "--failed", "--org", "acme"]) == 0
    assert "escalation:a1:1" in capsys.readouterr().out
    assert cli.main(["notices", "--send-again", "escalation:a1:1"]) == 0
    assert "escalation:a1:1: pending again" in capsys.readouterr().out
    assert cli.main(["notices", "--failed"]) == 0
    assert "no failed notices" in capsys.readouterr().out
    assert cli.main(["notices", "--send-again", "escalation:a0:1"]) != 0  # sent: not failed
    assert "no failed notice escalation:a0:1" in capsys.readouterr().err
