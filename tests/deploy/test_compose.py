"""The production compose file is valid and wires every part the README promises."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).parents[2]
ENV = {
    "POSTGRES_PASSWORD": "pw",
    "PROCTORFLOW_DB_PASSWORD": "proctorflow-pw",
    "TEMPORAL_DB_PASSWORD": "temporal-pw",
    "PROCTORFLOW_LMS_TOKEN": "token",
    "PROCTORFLOW_SECRET_KEY": "key",
    "PROCTORFLOW_SESSION_KEY": "cookie-key",
    "PROCTORFLOW_WEBHOOK_SECRET": "whsec",
    "PROCTORFLOW_PROCTORFREE_URL": "https://proctorfree.example",
    "PROCTORFLOW_PAYLOAD_KEYS": "prod-1:a2V5",
    "PROCTORFLOW_CODEC_TOKEN": "codec",
}


def compose(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("docker-compose")
    if binary is None:
        if os.environ.get("CI") == "true":
            pytest.fail("docker-compose is missing under CI: .ci/run installs it")
        pytest.skip("docker-compose is not installed (apt-get install docker-compose); CI runs this")
    return subprocess.run(
        [binary, "-f", str(ROOT / "docker-compose.yml"), *args],
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_compose_file_is_valid_and_has_every_service():
    result = compose("config", "--services", env=ENV)
    assert result.returncode == 0, result.stderr
    services = set(result.stdout.split())
    assert {"postgres", "temporal", "temporal-ui", "temporal-setup", "migrate", "web", "worker"} <= services


def test_compose_refuses_to_start_without_its_secrets():
    result = compose("config", "-q", env={})
    assert result.returncode != 0
    assert "set POSTGRES_PASSWORD" in result.stderr


def config() -> dict:
    result = compose("config", env=ENV)
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def test_temporal_and_its_web_ui_listen_on_loopback_only():
    """Whoever reaches Temporal's frontend or its Web UI can signal, reset and terminate every
    workflow: published on the host's loopback only; the services reach them on their network."""
    services = config()["services"]
    published = {name: service.get("ports", []) for name, service in services.items()}
    assert published["temporal"] and published["temporal-ui"]
    for name in ("temporal", "temporal-ui", "temporal-setup"):
        for port in published[name]:
            assert str(port).startswith("127.0.0.1:"), (name, port)
    exposed = [str(p) for ports in published.values() for p in ports if not str(p).startswith("127.0.0.1:")]
    assert not [p for p in exposed if "7233" in p or "8080" in p], exposed


def test_temporal_has_its_own_database_role_apart_from_proctorflows():
    services = config()["services"]
    temporal = services["temporal"]["environment"]
    assert (temporal["POSTGRES_USER"], temporal["POSTGRES_PWD"]) == ("temporal", "temporal-pw")
    assert temporal["SKIP_DB_CREATE"] == "true"  # the role cannot create databases: the init script did
    for name in ("migrate", "web", "worker"):
        url = services[name]["environment"]["PROCTORFLOW_DATABASE_URL"]
        assert url == "postgresql+psycopg://proctorflow:proctorflow-pw@postgres:5432/proctorflow", url
    postgres = services["postgres"]
    assert postgres["environment"]["POSTGRES_USER"] not in ("proctorflow", "temporal")  # the superuser
    mounts = [str(volume) for volume in postgres["volumes"]]
    assert any("deploy/postgres-init.sh" in m and "/docker-entrypoint-initdb.d/" in m for m in mounts), mounts

    script = (ROOT / "deploy" / "postgres-init.sh").read_text()
    for role in ("proctorflow", "temporal"):
        assert f"CREATE ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE" in script
    assert "CREATE DATABASE temporal OWNER temporal;" in script
    assert "CREATE DATABASE proctorflow OWNER proctorflow;" in script
    assert "REVOKE ALL ON DATABASE proctorflow, temporal, temporal_visibility FROM PUBLIC;" in script


def test_compose_refuses_to_start_without_the_database_roles_passwords():
    for missing in ("PROCTORFLOW_DB_PASSWORD", "TEMPORAL_DB_PASSWORD"):
        result = compose("config", "-q", env={k: v for k, v in ENV.items() if k != missing})
        assert result.returncode != 0
        assert f"set {missing}" in result.stderr
