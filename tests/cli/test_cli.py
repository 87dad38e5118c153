"""The `proctorflow` command: database and accounts, and the refusals that say what to fix.

Most commands run in this process through `main(argv)` (the console script's entry point), on
a real SQLite file in a temporary folder; those whose exit code a shell sees run as real
processes."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from pathlib import Path

import httpx
from sqlalchemy import func
from sqlmodel import select

import cli
from models.tables import ApiToken, Course, Integration, Lesson, Organisation, Reviewer
from proctorflow.settings import get_settings
from store import catalog
from store.db import make_engine, session_factory
from store.reviewers import authenticate
from tests.support.stack import running_stack

ROOT = Path(__file__).resolve().parents[2]


def proctorflow(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None):
    """The command as a shell runs it."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PROCTORFLOW_")}
    return subprocess.run(
        [sys.executable, "-m", "cli", *args],
        env={**clean, "PYTHONPATH": str(ROOT), **(env or {})},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def counts(url: str) -> dict[str, int]:
    engine = make_engine(url)
    with session_factory(engine)() as session:
        found = {
            table.__name__: session.exec(select(func.count()).select_from(table)).one()
            for table in (Organisation, ApiToken, Integration, Course, Lesson, Reviewer)
        }
    engine.dispose()
    return found


def test_migrate_and_seed_demo_twice_make_the_demo_once(database: str, capsys) -> None:
    made = []
    for _ in range(2):
        assert cli.main(["migrate"]) == 0
        assert cli.main(["seed-demo"]) == 0
        made.append(counts(database))
    assert made[0] == made[1]
    assert made[1] == {
        "Organisation": 1,
        "ApiToken": 2,  # PROCTORFLOW_LMS_TOKEN and the demo LMS's own
        "Integration": 1,
        "Course": 1,
        "Lesson": 5,
        "Reviewer": 1,
    }
    out = capsys.readouterr().out
    assert "nothing to add, all there already" in out
    password = Path(".data/demo-reviewer-password").read_text().strip()
    assert out.count(f"reviewer login: reviewer / {password}") == 2  # the same login both times


def test_the_demo_reviewer_logs_in_with_the_printed_password(database: str) -> None:
    assert cli.main(["migrate"]) == 0
    assert cli.main(["seed-demo"]) == 0
    password = Path(".data/demo-reviewer-password").read_text().strip()
    engine = make_engine(database)
    with session_factory(engine)() as session:
        assert authenticate(session, "reviewer", password) is not None
    engine.dispose()


def test_the_demo_course_shows_each_proctoring_method(database: str) -> None:
    assert cli.main(["migrate"]) == 0
    assert cli.main(["seed-demo"]) == 0
    engine = make_engine(database)
    with session_factory(engine)() as session:
        lessons = {lesson.id: lesson for lesson in catalog.lessons_of(session, "default", "course-demo")}
        course = session.get(Course, ("default", "course-demo"))
    engine.dispose()
    assert {lesson_id: lesson.method for lesson_id, lesson in lessons.items()} == {
        "intro": None,
        "practice": "practice",
        "final-exam": "full",
        "recorded-quiz": "record_only",
        "live-session": None,
    }
    assert lessons["final-exam"].requires_validation and lessons["final-exam"].allows_retakes
    assert not lessons["practice"].required and not lessons["practice"].requires_validation
    assert not lessons["live-session"].required  # live training is never proctored
    assert course is not None
    assert (course.score_lesson_id, course.complete_on_failure, course.certificate) == (
        "final-exam",
        False,
        True,
    )


async def test_create_org_prints_a_token_the_api_accepts_for_that_organisation(
    dev_server, tmp_path: Path, monkeypatch, capsys
) -> None:
    async with running_stack(dev_server.client, tmp_path) as stack:
        monkeypatch.setenv("PROCTORFLOW_DATABASE_URL", stack.settings.database_url)
        get_settings.cache_clear()
        try:
            assert cli.main(["create-org", "--id", "acme", "--name", "Acme Corp"]) == 0
        finally:
            get_settings.cache_clear()
        token = capsys.readouterr().out.strip()
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=f"{stack.base_url}/api/v1", headers=headers) as acme:
            assert (await acme.get("/integrations")).status_code == 200
            refused = await acme.get("/integrations", headers={"Authorization": "Bearer not-that-one"})
            assert refused.status_code == 401
    engine = make_engine(stack.settings.database_url)
    with session_factory(engine)() as session:
        assert catalog.org_for_token(session, token) == "acme"
        stored = session.exec(select(ApiToken.token_sha256)).all()
    engine.dispose()
    assert token not in stored  # only its hash is kept


def test_create_org_refuses_an_id_that_cannot_be_one(database: str, capsys) -> None:
    assert cli.main(["migrate"]) == 0
    assert cli.main(["create-org", "--id", "acme/eu", "--name", "Acme"]) == 2
    assert "--id 'acme/eu': use 1-100 letters, digits" in capsys.readouterr().err


def test_create_reviewer_refuses_a_short_password(database: str, tmp_path: Path) -> None:
    assert cli.main(["migrate"]) == 0
    assert cli.main(["create-org", "--id", "acme", "--name", "Acme Corp"]) == 0
    refused = proctorflow(
        *("create-reviewer", "--org", "acme", "--username", "rita", "--password", "short"),
        env={"PROCTORFLOW_DATABASE_URL": database},
        cwd=tmp_path,
    )
    assert refused.returncode == 2
    assert "a reviewer password needs at least 8 characters" in refused.stderr
    assert counts(database)["Reviewer"] == 0


def test_create_reviewer_makes_a_login_for_that_organisation(database: str) -> None:
    assert cli.main(["migrate"]) == 0
    assert cli.main(["create-org", "--id", "acme", "--name", "Acme Corp"]) == 0
    args = ["create-reviewer", "--org", "acme", "--username", "rita", "--password", "a-long-password"]
    assert cli.main(args) == 0
    engine = make_engine(database)
    with session_factory(engine)() as session:
        reviewer = authenticate(session, "rita", "a-long-password")
    engine.dispose()
    assert reviewer is not None and reviewer.org_id == "acme"


def test_create_reviewer_refuses_an_unknown_organisation(database: str, capsys) -> None:
    assert cli.main(["migrate"]) == 0
    args = ["create-reviewer", "--org", "nobody", "--username", "rita", "--password", "a-long-password"]
    assert cli.main(args) == 2
    assert "organisation 'nobody' does not exist: add it with `proctorflow create-org`" in (
        capsys.readouterr().err
    )


def test_a_command_on_an_unmigrated_database_says_to_migrate(database: str, capsys) -> None:
    assert cli.main(["create-org", "--id", "acme", "--name", "Acme"]) == 1
    assert "run `proctorflow migrate` first" in capsys.readouterr().err


def test_worker_and_web_without_a_temporal_address_say_what_to_set(database: str, capsys) -> None:
    for part in ("worker", "web"):
        assert cli.main([part]) == 2
        assert "PROCTORFLOW_TEMPORAL_ADDRESS is not set" in capsys.readouterr().err


def test_dev_refuses_a_port_in_use_and_names_the_flag_to_change(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        refused = proctorflow("dev", f"--http-port={port}", cwd=tmp_path)
    assert refused.returncode == 1
    assert f"port {port} is in use: stop what listens there, or choose another with --http-port" in (
        refused.stdout + refused.stderr
    )


async def test_setup_registers_the_search_attributes_and_can_run_again(
    dev_server, database: str, monkeypatch, capsys
) -> None:
    monkeypatch.setenv("PROCTORFLOW_TEMPORAL_ADDRESS", dev_server.client.service_client.config.target_host)
    get_settings.cache_clear()
    for _ in range(2):
        assert await asyncio.to_thread(cli.main, ["setup"]) == 0
    assert capsys.readouterr().out.count("search attributes are registered") == 2


def test_the_ops_commands_answer_through_proctorflow(database: str, capsys) -> None:
    assert cli.main(["migrate"]) == 0
    assert cli.main(["stuck"]) == 0
    assert "no open attempt has waited longer than" in capsys.readouterr().out
