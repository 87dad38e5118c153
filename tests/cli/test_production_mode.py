"""Production is the default: `proctorflow web` and `proctorflow worker` start only with real
secrets, and say which ones are missing or still hold a dev default, all at once. Each runs as
a shell runs it (its own process, a fresh folder, no PROCTORFLOW_* variable but the test's)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet

from proctorflow.codec import new_key_spec
from proctorflow.production import secret_problems
from proctorflow.settings import Settings
from store.migrate import upgrade
from tests.cli.test_cli import ROOT, proctorflow
from tests.support.servers import free_port

SECRETS = (
    "PROCTORFLOW_LMS_TOKEN",
    "PROCTORFLOW_SECRET_KEY",
    "PROCTORFLOW_WEBHOOK_SECRET",
    "PROCTORFLOW_PAYLOAD_KEYS",
    "PROCTORFLOW_CODEC_TOKEN",
    "PROCTORFLOW_SESSION_KEY",
)
STARTUP_SECONDS = 20


def real_secrets() -> dict[str, str]:
    return {
        "PROCTORFLOW_LMS_TOKEN": "pf_production-lms-token-0123456789abcdef",
        "PROCTORFLOW_SECRET_KEY": Fernet.generate_key().decode(),
        "PROCTORFLOW_WEBHOOK_SECRET": "whsec-production-0123456789abcdef",
        "PROCTORFLOW_PAYLOAD_KEYS": new_key_spec("prod-1"),
        "PROCTORFLOW_CODEC_TOKEN": "codec-production-0123456789abcdef",
        "PROCTORFLOW_SESSION_KEY": Fernet.generate_key().decode(),
    }


def refusal_lines(stderr: str) -> dict[str, str]:
    """The refusal's lines by the variable each names."""
    return {
        line.split()[1]: line for line in stderr.splitlines() if line.strip().startswith("- PROCTORFLOW_")
    }


@pytest.mark.parametrize("part", ["web", "worker"])
def test_with_only_a_temporal_address_it_refuses_naming_every_missing_secret(part, tmp_path: Path):
    refused = proctorflow(part, env={"PROCTORFLOW_TEMPORAL_ADDRESS": "127.0.0.1:7233"}, cwd=tmp_path)

    assert refused.returncode == 2, refused.stderr
    lines = refusal_lines(refused.stderr)
    assert sorted(lines) == sorted(SECRETS), refused.stderr
    assert "PROCTORFLOW_TEMPORAL_ADDRESS" not in lines
    assert "Fernet.generate_key()" in lines["PROCTORFLOW_SECRET_KEY"], "says how to make one"
    assert "os.urandom(32)" in lines["PROCTORFLOW_PAYLOAD_KEYS"]
    assert "`proctorflow dev`" in refused.stderr
    assert not (tmp_path / ".data").exists(), "no key was generated"


def test_dev_defaults_and_unusable_keys_are_named_too_and_never_repeated(tmp_path: Path):
    env = {
        **real_secrets(),
        "PROCTORFLOW_TEMPORAL_ADDRESS": "127.0.0.1:7233",
        "PROCTORFLOW_LMS_TOKEN": "dev-lms-token",
        "PROCTORFLOW_WEBHOOK_SECRET": "dev-webhook-secret",
        "PROCTORFLOW_PAYLOAD_KEYS": new_key_spec("dev-1"),  # what dev mode keeps in .data/
        "PROCTORFLOW_SECRET_KEY": "not-a-fernet-key-but-a-secret-all-the-same",
    }
    refused = proctorflow("web", env=env, cwd=tmp_path)

    assert refused.returncode == 2, refused.stderr
    lines = refusal_lines(refused.stderr)
    assert sorted(lines) == sorted(set(SECRETS) - {"PROCTORFLOW_CODEC_TOKEN", "PROCTORFLOW_SESSION_KEY"}), (
        refused.stderr
    )
    assert "holds the dev default 'dev-lms-token'" in lines["PROCTORFLOW_LMS_TOKEN"]
    assert "holds the dev default 'dev-webhook-secret'" in lines["PROCTORFLOW_WEBHOOK_SECRET"]
    assert "dev mode's key ring (key id 'dev-1')" in lines["PROCTORFLOW_PAYLOAD_KEYS"]
    assert "is not a Fernet key" in lines["PROCTORFLOW_SECRET_KEY"]
    for secret in (env["PROCTORFLOW_SECRET_KEY"], env["PROCTORFLOW_PAYLOAD_KEYS"].split(":", 1)[1]):
        assert secret not in refused.stdout + refused.stderr


def test_without_a_temporal_address_it_is_named_beside_the_secrets(tmp_path: Path):
    refused = proctorflow("worker", env={"PROCTORFLOW_LMS_TOKEN": "dev-lms-token"}, cwd=tmp_path)
    assert refused.returncode == 2
    assert "PROCTORFLOW_TEMPORAL_ADDRESS is not set" in refused.stderr
    assert sorted(refusal_lines(refused.stderr)) == sorted([*SECRETS, "PROCTORFLOW_TEMPORAL_ADDRESS"])


def test_with_every_secret_set_the_web_app_starts_and_answers(dev_server, tmp_path: Path):
    database_url = f"sqlite:///{tmp_path / 'proctorflow.db'}"
    upgrade(database_url)
    secrets = real_secrets()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROCTORFLOW_")}
    env.update(
        secrets,
        PROCTORFLOW_TEMPORAL_ADDRESS=dev_server.client.service_client.config.target_host,
        PROCTORFLOW_DATABASE_URL=database_url,
        PYTHONPATH=str(ROOT),
    )
    web = subprocess.Popen(
        [sys.executable, "-m", "cli", "web", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        health = _answer(f"http://127.0.0.1:{port}/healthz", web)
        listed = httpx.get(
            f"http://127.0.0.1:{port}/api/v1/tokens",
            headers={"Authorization": f"Bearer {secrets['PROCTORFLOW_LMS_TOKEN']}"},
            timeout=10,
        )
    finally:
        web.send_signal(signal.SIGINT)
        output = web.communicate(timeout=30)[0]
    assert health.status_code == 200, output
    assert listed.status_code == 200 and [t["bootstrap"] for t in listed.json()] == [True], listed.text
    for secret in secrets.values():
        assert secret not in output, "no secret in its log"
    assert not (tmp_path / ".data").exists(), "no key was generated"


def test_an_ops_command_that_signals_needs_the_payload_key_ring(tmp_path: Path):
    env = {"PROCTORFLOW_TEMPORAL_ADDRESS": "127.0.0.1:7233"}
    refused = proctorflow("check-now", "some-attempt", env=env, cwd=tmp_path)
    assert refused.returncode == 2
    assert "PROCTORFLOW_PAYLOAD_KEYS is not set" in refused.stderr
    assert not (tmp_path / ".data").exists(), "no key was generated"


def test_dev_modes_children_may_use_dev_defaults_but_are_given_the_keys():
    dev_child = Settings(dev_mode=True, secret_key=None, session_key=None, payload_keys=None, _env_file=None)
    assert [p.split()[0] for p in secret_problems(dev_child)] == [
        "PROCTORFLOW_SECRET_KEY",
        "PROCTORFLOW_SESSION_KEY",
        "PROCTORFLOW_PAYLOAD_KEYS",
    ]
    keys = {
        "secret_key": Fernet.generate_key().decode(),
        "session_key": Fernet.generate_key().decode(),
        "payload_keys": new_key_spec("dev-1"),
    }
    given = dev_child.model_copy(update=keys)
    assert secret_problems(given) == []


def test_a_fernet_key_ring_is_accepted_and_a_bad_key_in_it_is_named_by_position():
    good = {k.removeprefix("PROCTORFLOW_").lower(): v for k, v in real_secrets().items()}
    ring = f"{Fernet.generate_key().decode()},{Fernet.generate_key().decode()}"
    assert secret_problems(Settings(_env_file=None, **{**good, "secret_key": ring})) == []
    [problem] = secret_problems(Settings(_env_file=None, **{**good, "secret_key": ring + ",short"}))
    assert "is not a Fernet key (key 3 of 3)" in problem


def _answer(url: str, process: subprocess.Popen) -> httpx.Response:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"proctorflow web exited with {process.returncode}:\n{process.communicate()[0]}")
        try:
            return httpx.get(url, timeout=1)
        except httpx.HTTPError:
            time.sleep(0.2)
    pytest.fail(f"proctorflow web did not answer within {STARTUP_SECONDS}s")
