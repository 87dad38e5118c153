"""The production compose file is valid and wires every part docs/deploy.md promises: Temporal
on its supported images (server, one-shot schema and setup jobs from admin-tools of the same
release), ProctorFlow's migration before its web app and workers, and health checks on the
processes' probes."""

from __future__ import annotations

import re

import pytest
import yaml

from cli.worker import SHUTDOWN_GRACE
from tests.deploy.support import COMPOSE_FILE, ENV, ROOT, SECRETS, compose, compose_config

SERVICES = {
    "postgres",
    "temporal-schema",
    "temporal",
    "temporal-setup",
    "temporal-ui",
    "migrate",
    "web",
    "worker",
}
ONE_SHOT = {"temporal-schema", "temporal-setup", "migrate"}
TEMPORAL_RELEASE = re.compile(r"^temporalio/(server|admin-tools):(\d+\.\d+\.\d+)$")


def test_compose_file_is_valid_and_has_every_service():
    result = compose("config", "--services", env=ENV)
    assert result.returncode == 0, result.stderr
    assert set(result.stdout.split()) == SERVICES


def test_compose_refuses_to_start_without_its_secrets():
    result = compose("config", "-q", env={})
    assert result.returncode != 0
    assert "set POSTGRES_PASSWORD" in result.stderr


@pytest.mark.parametrize("missing", sorted(set(ENV) - {"POSTGRES_PASSWORD"}))
def test_compose_refuses_to_start_without_each_secret_and_setting(missing):
    result = compose("config", "-q", env={k: v for k, v in ENV.items() if k != missing})
    assert result.returncode != 0
    assert f"set {missing}" in result.stderr


def test_temporal_runs_on_supported_pinned_images_of_one_release():
    """`temporalio/auto-setup` is deprecated: the server image, and admin-tools of the same
    release for the schema and the namespace (its schema is the one that server reads)."""
    services = compose_config()["services"]
    raw = COMPOSE_FILE.read_text()
    assert "auto-setup" not in raw
    releases = {}
    for name in ("temporal", "temporal-schema", "temporal-setup"):
        match = TEMPORAL_RELEASE.match(services[name]["image"])
        assert match, f"{name}: {services[name]['image']} is not a pinned temporalio/server or admin-tools"
        releases[name] = match.group(2)
    assert services["temporal"]["image"].startswith("temporalio/server:")
    assert len(set(releases.values())) == 1, releases
    # The test suite runs Server 1.32 (temporal CLI 1.9.1, bench/results/latest.json): same minor.
    assert releases["temporal"].startswith("1.32."), releases
    ui = services["temporal-ui"]["image"]
    assert re.match(r"^temporalio/ui:\d+\.\d+\.\d+$", ui), ui


def test_temporal_schema_is_set_up_then_migrated_in_both_databases_before_the_server_starts():
    services = compose_config()["services"]
    job = services["temporal-schema"]
    assert job["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["temporal"]["depends_on"]["temporal-schema"]["condition"] == (
        "service_completed_successfully"
    )
    assert job["environment"]["SQL_PLUGIN"] == "postgres12"
    assert (job["environment"]["SQL_USER"], job["environment"]["SQL_PASSWORD"]) == ("temporal", "temporal-pw")
    mounted = " ".join(job["volumes"]) + " ".join(job["entrypoint"])
    assert "deploy/temporal-schema.sh" in mounted

    script = (ROOT / "deploy" / "temporal-schema.sh").read_text()
    assert "setup-schema -v 0.0" in script
    assert 'update-schema -d "$SCHEMA/$2/versioned"' in script
    assert "/etc/temporal/schema/postgresql/v12" in script
    assert 'migrate "${TEMPORAL_DBNAME:-temporal}" temporal' in script
    assert 'migrate "${TEMPORAL_VISIBILITY_DBNAME:-temporal_visibility}" visibility' in script
    # The temporal role may not create databases: the init script made both.
    assert "create-database" not in script and " create " not in script


def test_temporal_server_reads_its_databases_as_the_temporal_role_with_a_dynamic_config_file():
    temporal = compose_config()["services"]["temporal"]
    env = temporal["environment"]
    assert env["DB"] == "postgres12"
    assert (env["POSTGRES_USER"], env["POSTGRES_PWD"]) == ("temporal", "temporal-pw")
    assert (env["DBNAME"], env["VISIBILITY_DBNAME"]) == ("temporal", "temporal_visibility")
    assert env["POSTGRES_SEEDS"] == "postgres"
    assert env["BIND_ON_IP"] == "0.0.0.0"
    assert int(env["NUM_HISTORY_SHARDS"]) >= 4
    # The server refuses to start when its dynamic config file is missing: it is mounted there.
    target = env["DYNAMIC_CONFIG_FILE_PATH"]
    mounted = [v for v in temporal["volumes"] if v.endswith(f":{target}:ro")]
    assert len(mounted) == 1 and "deploy/temporal-dynamicconfig.yaml" in mounted[0], temporal["volumes"]
    dynamic = yaml.safe_load((ROOT / "deploy" / "temporal-dynamicconfig.yaml").read_text())
    assert dynamic["frontend.enableUpdateWorkflowExecution"] == [{"value": True}]
    assert "healthcheck" in temporal


def test_namespace_and_search_attributes_are_set_up_once_the_server_is_healthy():
    services = compose_config()["services"]
    setup = services["temporal-setup"]
    assert setup["depends_on"]["temporal"]["condition"] == "service_healthy"
    command = " ".join(setup["entrypoint"])
    assert command.index("temporal-namespace.sh") < command.index("search-attributes.sh")
    assert "-e" in setup["entrypoint"][1]  # the second runs only when the first succeeded
    namespace = services["web"]["environment"]["PROCTORFLOW_TEMPORAL_NAMESPACE"]
    assert setup["environment"]["TEMPORAL_NAMESPACE"] == namespace
    assert setup["environment"]["TEMPORAL_NAMESPACE_RETENTION"] == "7d"


def test_web_and_worker_start_after_the_migration_and_the_temporal_setup_succeeded():
    services = compose_config()["services"]
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("web", "worker"):
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully", name
        assert depends["temporal-setup"]["condition"] == "service_completed_successfully", name
    for name in ONE_SHOT:
        assert services[name].get("restart") == "no", name
    for name in SERVICES - ONE_SHOT:
        assert services[name].get("restart") == "unless-stopped", name


def test_the_migration_gets_the_database_and_no_other_secret():
    env = compose_config()["services"]["migrate"]["environment"]
    assert set(env) == {"PROCTORFLOW_DATABASE_URL"}


def healthcheck_url(service: dict) -> str:
    test = service["healthcheck"]["test"]
    assert test[0] == "CMD" and test[1] == "python", test
    (url,) = re.findall(r"http://127\.0\.0\.1:\d+/\w+", test[-1])
    return url


def test_web_and_worker_are_healthy_when_their_readiness_probe_answers():
    services = compose_config()["services"]
    web, worker = services["web"], services["worker"]
    port = web["command"][web["command"].index("--port") + 1]
    assert healthcheck_url(web) == f"http://127.0.0.1:{port}/healthz"
    env = worker["environment"]
    assert env["PROCTORFLOW_HEALTH_HOST"] == "0.0.0.0"
    assert healthcheck_url(worker) == f"http://127.0.0.1:{env['PROCTORFLOW_HEALTH_PORT']}/healthz"
    assert (env["PROCTORFLOW_HEALTH_PORT"], env["PROCTORFLOW_METRICS_PORT"]) == ("8081", "9090")
    # urllib raises on a 503, so the check fails; its timeout fits inside the healthcheck's.
    for service in (web, worker):
        timeout = float(re.search(r"timeout=(\d+)", service["healthcheck"]["test"][-1]).group(1))
        assert timeout < seconds(service["healthcheck"]["timeout"])
    # Neither probe port is published on the host.
    published = [str(p) for p in worker.get("ports", [])]
    assert not published, published


def seconds(duration: str) -> float:
    match = re.fullmatch(r"(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?", duration)
    assert match and duration, duration
    return int(match.group(1) or 0) * 60 + float(match.group(2) or 0)


def test_the_worker_has_time_to_stop_gracefully():
    """Both of its workers (attempts, then events) finish their activities, each within
    SHUTDOWN_GRACE, one after the other, before Docker kills it."""
    worker = compose_config()["services"]["worker"]
    assert seconds(worker["stop_grace_period"]) > 2 * SHUTDOWN_GRACE.total_seconds()


def test_every_secret_the_processes_read_is_required_from_the_environment():
    services = compose_config()["services"]
    raw = COMPOSE_FILE.read_text()
    for name in ("web", "worker"):
        env = services[name]["environment"]
        assert set(SECRETS) <= set(env), (name, sorted(set(SECRETS) - set(env)))
    for secret in SECRETS:
        source = "PROCTORFLOW_DB_PASSWORD" if secret == "PROCTORFLOW_DATABASE_URL" else secret
        assert "${" + source + ":?set " + source in raw, secret


def test_temporal_and_its_web_ui_listen_on_loopback_only():
    """Whoever reaches Temporal's frontend or its Web UI can signal, reset and terminate every
    workflow: published on the host's loopback only; the services reach them on their network."""
    services = compose_config()["services"]
    published = {name: service.get("ports", []) for name, service in services.items()}
    assert published["temporal"] and published["temporal-ui"]
    for name in ("temporal", "temporal-ui", "temporal-schema", "temporal-setup", "postgres"):
        for port in published[name]:
            assert str(port).startswith("127.0.0.1:"), (name, port)
    exposed = [str(p) for ports in published.values() for p in ports if not str(p).startswith("127.0.0.1:")]
    assert not [p for p in exposed if "7233" in p or "8080" in p], exposed


def test_the_temporal_ui_opens_payloads_through_the_codec_endpoint():
    ui = compose_config()["services"]["temporal-ui"]["environment"]
    assert ui["TEMPORAL_CODEC_ENDPOINT"] == "http://localhost:8000/codec"
    assert ui["TEMPORAL_CODEC_PASS_ACCESS_TOKEN"] == "true"


def test_temporal_has_its_own_database_role_apart_from_proctorflows():
    services = compose_config()["services"]
    temporal = services["temporal"]["environment"]
    assert (temporal["POSTGRES_USER"], temporal["POSTGRES_PWD"]) == ("temporal", "temporal-pw")
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
    assert "CREATE DATABASE temporal_visibility OWNER temporal;" in script
    assert "CREATE DATABASE proctorflow OWNER proctorflow;" in script
    assert "REVOKE ALL ON DATABASE proctorflow, temporal, temporal_visibility FROM PUBLIC;" in script
