"""`proctorflow events`: ops see each organisation's deliveries, list the failed ones, and
deliver them again; an endpoint's path (which may hold a token) is never printed."""

from __future__ import annotations

import cli
from models.events import EventType
from models.tables import utcnow
from proctorflow.crypto import SecretBox
from store import catalog, deliveries, events
from store.db import make_engine, session_factory, transaction
from store.migrate import upgrade

KEY = "ZmFrZS1rZXktZm9yLXRlc3RzLW9ubHktMzItYnl0ZXM="  # a Fernet key, for this test only


def subscribed_with_events(url: str, count: int) -> list[str]:
    """Organisation `acme` with an endpoint and `count` events: their ids, oldest first."""
    upgrade(url)
    engine = make_engine(url)
    sessions = session_factory(engine)
    with transaction(sessions) as session:
        catalog.ensure_organisation(session, "acme", "Acme")
        deliveries.put_endpoint(
            session, "acme", "https://lms.acme.example/hooks?token=s3cr3t", False, SecretBox(KEY)
        )
    with transaction(sessions) as session:
        for n in range(count):
            events.emit(session, "acme", "c1", f"learner-{n}", EventType.COURSE_COMPLETED, {"n": n})
    with sessions() as session:
        ids = [e.id for e in events.feed(session, "acme", 0, 100)]
    with transaction(sessions) as session:
        deliveries.record_try(session, ids[0], 200, None, utcnow())
        deliveries.give_up(session, ids[1])
    engine.dispose()
    return ids


def test_events_shows_deliveries_by_state_without_the_endpoints_path(database, capsys):
    subscribed_with_events(database, 3)

    assert cli.main(["events"]) == 0

    out = capsys.readouterr().out
    assert "acme: endpoint https://lms.acme.example/…; 1 pending, 1 delivered, 1 failed, 0 cancelled" in out
    assert "oldest pending" in out and "s3cr3t" not in out and "hooks" not in out


def test_failed_deliveries_are_listed_and_delivered_again(database, capsys):
    ids = subscribed_with_events(database, 3)

    assert cli.main(["events", "--failed"]) == 0
    listed = capsys.readouterr().out
    assert ids[1] in listed and "course.completed" in listed and "1 failed deliveries" in listed

    assert cli.main(["events", "--redeliver-failed", "--org", "acme"]) == 0
    assert "1 failed deliveries pending again" in capsys.readouterr().out
    assert cli.main(["events"]) == 0
    assert "2 pending, 1 delivered, 0 failed" in capsys.readouterr().out

    assert cli.main(["events", "--redeliver", ids[0]]) == 0
    assert "pending again" in capsys.readouterr().out
    assert cli.main(["events", "--redeliver", "no-such-event"]) == 2
    assert "event no-such-event does not exist" in capsys.readouterr().err
