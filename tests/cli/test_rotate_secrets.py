"""Key rings for secrets at rest: a second key in the ring opens what the first sealed, and
`proctorflow rotate-secrets` seals every stored secret again under the ring's first key, so
the old key can be dropped."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from sqlmodel import select

import cli
from models.tables import EventEndpoint, Integration
from proctorflow.crypto import SecretBox
from proctorflow.settings import get_settings
from store import catalog, deliveries
from store.db import make_engine, session_factory, transaction
from store.migrate import upgrade

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()
API_SECRET = "pf-secret-rotated"


def test_a_key_ring_seals_with_its_first_key_and_opens_with_any():
    sealed_by_old = SecretBox(OLD).seal("vendor secret")
    ring = SecretBox(f"{NEW}, {OLD}")
    assert ring.open(sealed_by_old) == "vendor secret"  # the second key opens what the first sealed
    assert not ring.is_current(sealed_by_old)

    sealed_by_ring = ring.seal("another")
    assert SecretBox(NEW).open(sealed_by_ring) == "another"  # the first key of the ring seals
    with pytest.raises(ValueError):
        SecretBox(OLD).open(sealed_by_ring)
    assert SecretBox(NEW).open(ring.reseal(sealed_by_old)) == "vendor secret"
    with pytest.raises(ValueError, match="Fernet keys"):
        SecretBox(f"{NEW},not-a-key")


def use_key_ring(monkeypatch, ring: str) -> None:
    monkeypatch.setenv("PROCTORFLOW_SECRET_KEY", ring)
    get_settings.cache_clear()


def stored_secrets(url: str) -> list[str]:
    engine = make_engine(url)
    with session_factory(engine)() as session:
        integration = session.exec(select(Integration)).one()
        endpoint = session.exec(select(EventEndpoint)).one()
        values = [
            integration.api_key_encrypted,
            integration.api_secret_encrypted,
            endpoint.secret_sealed,
            endpoint.previous_secret_sealed,
        ]
    engine.dispose()
    return values


def test_rotate_secrets_seals_every_stored_secret_under_the_first_key(database, monkeypatch, capsys):
    upgrade(database)
    engine = make_engine(database)
    sessions = session_factory(engine)
    old_box = SecretBox(OLD)
    with transaction(sessions) as session:
        catalog.ensure_organisation(session, "acme", "Acme")
        catalog.add_integration(session, "acme", "PF", "pf-key", API_SECRET, True, old_box)
        deliveries.put_endpoint(session, "acme", "https://lms.acme.example/hooks", False, old_box)
    with transaction(sessions) as session:  # a rotated endpoint secret: the previous one is kept
        deliveries.put_endpoint(session, "acme", "https://lms.acme.example/hooks", True, old_box)
    engine.dispose()
    before = stored_secrets(database)
    assert all(before)
    plain = [old_box.open(value) for value in before]

    # Without the key the secrets were sealed with, nothing is changed.
    use_key_ring(monkeypatch, NEW)
    assert cli.main(["rotate-secrets"]) == 2
    assert "opens with no key of PROCTORFLOW_SECRET_KEY" in capsys.readouterr().err
    assert stored_secrets(database) == before

    use_key_ring(monkeypatch, f"{NEW},{OLD}")
    assert cli.main(["rotate-secrets"]) == 0
    assert "4 stored secrets sealed again under the first key of the ring (4 were under an older key)" in (
        capsys.readouterr().out
    )

    after = stored_secrets(database)
    new_box = SecretBox(NEW)  # the old key dropped: everything still opens
    assert [new_box.open(value) for value in after] == plain
    assert API_SECRET in plain
    for value in after:
        with pytest.raises(ValueError):
            old_box.open(value)

    assert cli.main(["rotate-secrets"]) == 0  # again: nothing was left under an older key
    assert "(0 were under an older key)" in capsys.readouterr().out
