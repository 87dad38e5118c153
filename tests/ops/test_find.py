"""`proctorflow find --learner ID`: Temporal holds a keyed pseudonym of the learner id
(`LearnerId`), so ops need the command to find a learner's attempts: it prints the pseudonym,
the learner's attempts from the database with their workflow ids, and the query to paste."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import cli
from cli.ops import add_ops_commands
from models.tables import Attempt
from proctorflow.codec import new_key_spec
from proctorflow.settings import Settings
from proctorflow.temporal import pseudonym_keys
from store.db import make_engine, session_factory, transaction
from tests.support.database import fresh_database_url
from tests.support.keys import TEST_PAYLOAD_KEYS
from workflows.search_attributes import learner_pseudonym

EMAIL = "grace.hopper@example.org"
NOW = datetime.now(UTC)


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="proctorflow")
    add_ops_commands(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(argv)


def stored(
    attempt_id: str, org_id: str, learner_id: str, number: int, status: str, age: timedelta
) -> Attempt:
    return Attempt(
        id=attempt_id,
        org_id=org_id,
        course_id="course-1",
        lesson_id="exam",
        learner_id=learner_id,
        attempt_number=number,
        workflow_id=f"attempt-{attempt_id}",
        integration_id="integration-1",
        method="full",
        required=True,
        requires_validation=True,
        status=status,
        created_at=NOW - age,
    )


@pytest.fixture
def database(tmp_path: Path):
    url = fresh_database_url(tmp_path)
    engine = make_engine(url)
    with transaction(session_factory(engine)) as session:
        session.add(stored("a-2", "default", EMAIL, 2, "awaiting_audit", timedelta(hours=1)))
        session.add(stored("a-1", "default", EMAIL, 1, "completed", timedelta(days=2)))
        session.add(stored("b-1", "other-org", EMAIL, 1, "expired", timedelta(days=1)))
        session.add(stored("c-1", "default", "someone-else@example.org", 1, "completed", timedelta(days=3)))
    yield url
    engine.dispose()


def test_find_prints_the_pseudonym_the_query_and_the_learners_attempts_oldest_first(
    database, ops_environment, capsys
):
    settings = Settings(database_url=database, payload_keys=TEST_PAYLOAD_KEYS)
    ops_environment(settings)
    pseudonym = learner_pseudonym(pseudonym_keys(settings)[0], EMAIL)

    args = parse("find", "--learner", EMAIL)
    assert args.run(args) == 0

    out = capsys.readouterr().out
    assert f"LearnerId pseudonym: {pseudonym}" in out
    assert f"  LearnerId = '{pseudonym}'" in out
    assert "3 attempt(s) in the database" in out
    lines = [line for line in out.splitlines() if "workflow attempt-" in line]
    assert [line.split()[0] for line in lines] == ["a-1", "b-1", "a-2"]
    assert "workflow attempt-a-2" in lines[2] and "awaiting_audit" in lines[2] and "#2" in lines[2]
    assert "c-1" not in out


def test_find_keeps_to_one_organisation_when_asked(database, ops_environment, capsys):
    ops_environment(Settings(database_url=database, payload_keys=TEST_PAYLOAD_KEYS))
    args = parse("find", "--learner", EMAIL, "--org", "other-org")
    assert args.run(args) == 0
    out = capsys.readouterr().out
    assert "1 attempt(s)" in out and "b-1" in out and "a-1" not in out


def test_after_a_payload_key_rotation_the_query_matches_pseudonyms_under_every_key(
    database, ops_environment, capsys
):
    rotated = f"{new_key_spec('test-2')},{TEST_PAYLOAD_KEYS}"
    settings = Settings(database_url=database, payload_keys=rotated)
    ops_environment(settings)
    new, old = (learner_pseudonym(key, EMAIL) for key in pseudonym_keys(settings))
    assert old == learner_pseudonym(pseudonym_keys(Settings(payload_keys=TEST_PAYLOAD_KEYS))[0], EMAIL)

    args = parse("find", "--learner", EMAIL)
    assert args.run(args) == 0
    out = capsys.readouterr().out
    assert f"LearnerId IN ('{new}', '{old}')" in out
    assert f"under an older payload key: {old}" in out


def test_find_with_its_own_pseudonym_key_and_no_attempt_says_so(database, ops_environment, capsys):
    own = "a-pseudonym-key-of-its-own"
    ops_environment(Settings(database_url=database, learner_pseudonym_key=own))
    args = parse("find", "--learner", "nobody")
    assert args.run(args) == 0
    out = capsys.readouterr().out
    assert f"LearnerId = '{learner_pseudonym(own.encode(), 'nobody')}'" in out
    assert "no attempt of this learner in the database" in out


def test_find_without_a_key_refuses_with_what_to_set(database, ops_environment, capsys):
    ops_environment(Settings(database_url=database))
    assert cli.main(["find", "--learner", EMAIL]) == 2
    assert (
        "PROCTORFLOW_PAYLOAD_KEYS (or PROCTORFLOW_LEARNER_PSEUDONYM_KEY) is not set"
        in capsys.readouterr().err
    )
