"""LMS tokens in the database: the bootstrap token PROCTORFLOW_LMS_TOKEN replaced when the
setting changes, what a revoke refuses, and the last-use note written about once a minute."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from models.tables import ApiToken
from proctorflow.errors import Conflict, Invalid, NotFound
from store import catalog, tokens
from store.db import SessionFactory, make_engine, session_factory, transaction
from tests.support.database import fresh_database_url


@pytest.fixture
def sessions(tmp_path: Path) -> Iterator[SessionFactory]:
    engine = make_engine(fresh_database_url(tmp_path))
    yield session_factory(engine)
    engine.dispose()


def bootstrap_rows(sessions: SessionFactory) -> list[ApiToken]:
    with sessions() as session:
        return list(session.exec(select(ApiToken).where(ApiToken.bootstrap)))


def org_of(sessions: SessionFactory, token: str) -> str | None:
    with sessions() as session:
        return catalog.org_for_token(session, token)


def test_a_new_lms_token_setting_replaces_the_previous_bootstrap_token(sessions):
    with transaction(sessions) as session:
        catalog.ensure_default_organisation(session, "first-bootstrap-token")
        _, made = tokens.create(session, catalog.DEFAULT_ORG, "LMS production")
    with transaction(sessions) as session:  # the web app starts again with the same setting
        catalog.ensure_default_organisation(session, "first-bootstrap-token")
    assert [row.name for row in bootstrap_rows(sessions)] == ["PROCTORFLOW_LMS_TOKEN"]

    with transaction(sessions) as session:  # ... and then with a new one
        catalog.ensure_default_organisation(session, "second-bootstrap-token")

    assert org_of(sessions, "first-bootstrap-token") is None, "the old value no longer works"
    assert org_of(sessions, "second-bootstrap-token") == catalog.DEFAULT_ORG
    assert org_of(sessions, made) == catalog.DEFAULT_ORG, "tokens made through the API stay"
    [row] = bootstrap_rows(sessions)
    assert row.token_sha256 == tokens.token_digest("second-bootstrap-token")
    assert row.prefix == "secon" and "second-bootstrap-token" not in repr(row)


def test_another_organisations_token_cannot_become_the_bootstrap_token(sessions):
    with transaction(sessions) as session:
        catalog.ensure_organisation(session, "acme", "Acme")
        catalog.grant_token(session, "acme", "acme-token-0123456789", name="acme")
    with (
        pytest.raises(Invalid, match="already a token of organisation acme") as refused,
        transaction(sessions) as session,
    ):
        catalog.ensure_default_organisation(session, "acme-token-0123456789")
    assert "acme-token-0123456789" not in str(refused.value)
    assert org_of(sessions, "acme-token-0123456789") == "acme"


def test_a_revoke_keeps_the_last_and_the_bootstrap_token_and_finds_only_its_own(sessions):
    with transaction(sessions) as session:
        catalog.ensure_default_organisation(session, "bootstrap-token-0123456789")
        catalog.ensure_organisation(session, "acme", "Acme")
        acme_first, _ = tokens.create(session, "acme", "first")
        acme_second, _ = tokens.create(session, "acme", "second")
        [bootstrap] = tokens.list_tokens(session, catalog.DEFAULT_ORG)

    def revoke(org_id: str, token_id: str) -> None:
        with transaction(sessions) as session:
            tokens.revoke(session, org_id, token_id)

    with pytest.raises(NotFound):
        revoke(catalog.DEFAULT_ORG, acme_first.id)
    with pytest.raises(Conflict, match="PROCTORFLOW_LMS_TOKEN"):
        revoke(catalog.DEFAULT_ORG, bootstrap.id)
    revoke("acme", acme_first.id)
    with pytest.raises(Conflict, match="last token"):
        revoke("acme", acme_second.id)
    with sessions() as session:
        assert [row.id for row in tokens.list_tokens(session, "acme")] == [acme_second.id]


def test_the_last_use_is_written_at_most_once_a_minute(sessions):
    with transaction(sessions) as session:
        catalog.ensure_organisation(session, "acme", "Acme")
        row, _ = tokens.create(session, "acme", "LMS")
    first = row.created_at + timedelta(seconds=5)

    def touch(at) -> bool:  # noqa: ANN001
        with transaction(sessions) as session:
            return tokens.touch(session, row.token_sha256, at)

    assert touch(first)
    assert not touch(first + timedelta(seconds=30)), "no write within the minute"
    assert touch(first + timedelta(seconds=61))
    with sessions() as session:
        [stored] = tokens.list_tokens(session, "acme")
    assert stored.last_used_at == first + timedelta(seconds=61)


def test_a_new_token_is_long_random_and_kept_only_as_its_digest_and_prefix(sessions):
    with transaction(sessions) as session:
        catalog.ensure_organisation(session, "acme", "Acme")
        row, token = tokens.create(session, "acme", "LMS")
        _, other = tokens.create(session, "acme", "LMS")
    assert token.startswith("pf_") and len(token) >= 40 and token != other
    assert row.prefix == token[:8]
    with sessions() as session:
        stored = session.get(ApiToken, tokens.token_digest(token))
    assert stored is not None and token not in stored.model_dump_json()
