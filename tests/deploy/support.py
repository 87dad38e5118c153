"""What the deploy tests read: the compose file as docker-compose resolves it, the Kubernetes
manifests as kustomize would apply them, and the secrets the processes read."""

from __future__ import annotations

import os
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from proctorflow.production import WHAT, variable

ROOT = Path(__file__).parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
KUBERNETES = ROOT / "deploy" / "kubernetes"
# Run on its own before a rollout: `proctorflow replay` with the next release's image.
REPLAY = KUBERNETES / "replay"
DOCS = ROOT / "docs" / "deploy.md"

# Every secret the web app and the worker read: the ones `proctorflow.production` refuses to
# start without, and the database URL (it holds the password).
SECRETS = sorted({variable(name) for name in WHAT} | {"PROCTORFLOW_DATABASE_URL"})
# Secrets a deployment may go without (the feature waits until they are set).
OPTIONAL_SECRETS = ("PROCTORFLOW_SMTP_URL",)

# Stand-in values for the compose file's required variables.
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


def required_tool(name: str, install: str) -> str:
    """The tool's path; a skip off CI when it is missing, a failure under CI (.ci/run installs it)."""
    binary = shutil.which(name)
    if binary is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{name} is missing under CI: .ci/run installs it")
        pytest.skip(f"{name} is not installed ({install}); CI runs this")
    return binary


def compose(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    binary = required_tool("docker-compose", "apt-get install docker-compose")
    return subprocess.run(
        [binary, "-f", str(COMPOSE_FILE), *args],
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
        check=False,
    )


def compose_config() -> dict[str, Any]:
    """The compose file as docker-compose resolves it with the stand-in secrets."""
    result = compose("config", env=ENV)
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


@cache
def kubernetes_files(folder: Path = KUBERNETES) -> dict[str, list[dict[str, Any]]]:
    """file name: its resources, for every YAML file in the folder (deploy/kubernetes/)."""
    return {
        path.name: [document for document in yaml.safe_load_all(path.read_text()) if document]
        for path in sorted(folder.glob("*.yaml"))
    }


def kustomization(folder: Path = KUBERNETES) -> dict[str, Any]:
    (document,) = kubernetes_files(folder)["kustomization.yaml"]
    return document


def kubernetes_resources(folder: Path = KUBERNETES) -> list[dict[str, Any]]:
    """Every resource the folder's kustomization applies (deploy/kubernetes/kustomization.yaml)."""
    files = kubernetes_files(folder)
    return [resource for name in kustomization(folder)["resources"] for resource in files[name]]


def resource(kind: str, name: str) -> dict[str, Any]:
    found = [r for r in kubernetes_resources() if r["kind"] == kind and r["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} in deploy/kubernetes"
    return found[0]


def pod_spec(kind: str, name: str) -> dict[str, Any]:
    return resource(kind, name)["spec"]["template"]["spec"]


def container(kind: str, name: str) -> dict[str, Any]:
    (only,) = pod_spec(kind, name)["containers"]
    return only


WEB = ("Deployment", "proctorflow-web")
WORKER = ("Deployment", "proctorflow-worker")
MIGRATE = ("Job", "proctorflow-migrate")
# compose service name: the Kubernetes workload that runs the same process
PROCESSES = {"web": WEB, "worker": WORKER, "migrate": MIGRATE}


def secret_refs(kind: str, name: str) -> dict[str, dict[str, Any]]:
    """Environment variable: its secretKeyRef, for the workload's container."""
    return {
        item["name"]: item["valueFrom"]["secretKeyRef"]
        for item in container(kind, name).get("env", [])
        if "secretKeyRef" in item.get("valueFrom", {})
    }


def plain_env(kind: str, name: str) -> dict[str, str]:
    return {item["name"]: item["value"] for item in container(kind, name).get("env", []) if "value" in item}


def port_number(spec: dict[str, Any], port: int | str) -> int:
    """A probe's port: a number, or the name of one of the container's ports."""
    if isinstance(port, int):
        return port
    (number,) = [p["containerPort"] for p in spec.get("ports", []) if p.get("name") == port]
    return number
