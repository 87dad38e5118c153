"""Compose and Kubernetes run the same processes the same way: one image, the same commands,
the same probe and metrics ports, and every secret the processes read declared in both (and in
the `kubectl create secret` command docs/deploy.md gives)."""

from __future__ import annotations

import re
import shlex

from cli.worker import SHUTDOWN_GRACE
from tests.deploy.support import (
    DOCS,
    OPTIONAL_SECRETS,
    PROCESSES,
    ROOT,
    SECRETS,
    WORKER,
    compose_config,
    container,
    kustomization,
    plain_env,
    pod_spec,
    resource,
    secret_refs,
)


def test_web_worker_and_migrate_run_one_image_built_from_the_dockerfile_in_both():
    services = compose_config()["services"]
    images = {services[name]["image"] for name in PROCESSES}
    assert len(images) == 1, images
    (image,) = images
    for name in PROCESSES:
        build = services[name]["build"]
        assert build["context"] == str(ROOT), (name, build)
        assert build.get("dockerfile", "Dockerfile") == "Dockerfile", (name, build)
    (kubernetes_image,) = {container(*workload)["image"] for workload in PROCESSES.values()}
    assert image.rsplit(":", 1)[0] == kubernetes_image == kustomization()["images"][0]["name"]


def test_each_process_runs_the_same_command_in_both():
    services = compose_config()["services"]
    for name, workload in PROCESSES.items():
        assert services[name]["command"] == container(*workload)["args"], name


def test_the_worker_serves_probes_and_metrics_on_the_same_ports_in_both():
    compose_env = compose_config()["services"]["worker"]["environment"]
    kubernetes_env = plain_env(*WORKER)
    for name in ("PROCTORFLOW_HEALTH_PORT", "PROCTORFLOW_HEALTH_HOST", "PROCTORFLOW_METRICS_PORT"):
        assert str(compose_env[name]) == kubernetes_env[name], name


def test_every_secret_the_processes_read_is_declared_in_both():
    services = compose_config()["services"]
    for name in ("web", "worker"):
        compose_secrets = set(services[name]["environment"]) & set(SECRETS)
        kubernetes_secrets = {
            k for k, ref in secret_refs(*PROCESSES[name]).items() if not ref.get("optional")
        }
        assert compose_secrets == kubernetes_secrets == set(SECRETS), name
    assert set(services["migrate"]["environment"]) == set(secret_refs(*PROCESSES["migrate"]))


def test_the_settings_compose_sets_are_in_the_kubernetes_configmap():
    """Compose's non-secret settings of the web app and worker are in the ConfigMap, bar the
    ones Kubernetes sets per workload (the worker's ports)."""
    env = compose_config()["services"]["web"]["environment"]
    configmap = resource("ConfigMap", "proctorflow")["data"]
    settings = (
        {name for name in env if name.startswith("PROCTORFLOW_")} - set(SECRETS) - set(OPTIONAL_SECRETS)
    )
    assert settings and settings <= set(configmap), sorted(settings - set(configmap))
    assert not set(OPTIONAL_SECRETS) & set(configmap)  # secrets, however optional, never in a ConfigMap


def test_optional_secrets_are_read_from_the_secret_where_compose_sets_them():
    env = compose_config()["services"]["worker"]["environment"]
    for name in OPTIONAL_SECRETS:
        assert name in env
        for process in ("web", "worker"):
            ref = secret_refs(*PROCESSES[process])[name]
            assert ref.get("optional") is True, (process, name)


def test_both_give_the_worker_time_to_stop_gracefully():
    compose_grace = compose_config()["services"]["worker"]["stop_grace_period"]
    kubernetes_grace = pod_spec(*WORKER)["terminationGracePeriodSeconds"]
    assert int(re.fullmatch(r"(\d+)s", compose_grace).group(1)) == kubernetes_grace
    assert kubernetes_grace > 2 * SHUTDOWN_GRACE.total_seconds()


def kubectl_create_secret() -> list[str]:
    """The `kubectl create secret generic proctorflow` command in docs/deploy.md, as words."""
    text = DOCS.read_text()
    match = re.search(
        r"^\s*kubectl (?:-n \S+ )?create secret generic proctorflow(?=\s).*?(?<!\\)\n", text, re.S | re.M
    )
    assert match, "docs/deploy.md gives no `kubectl create secret generic proctorflow` command"
    return shlex.split(match.group(0).replace("\\\n", " "), comments=False)


def test_the_documented_secret_command_creates_every_key_the_pods_read():
    words = kubectl_create_secret()
    keys = {
        re.match(r"--from-(?:literal|file)=([A-Z_]+)=", w).group(1) for w in words if w.startswith("--from-")
    }
    required = {k for k, ref in secret_refs(*PROCESSES["web"]).items() if not ref.get("optional")}
    assert required <= keys, sorted(required - keys)
    # Every key it creates is one a pod reads.
    read = set(secret_refs(*PROCESSES["web"])) | set(secret_refs(*PROCESSES["worker"]))
    assert keys <= read, sorted(keys - read)
    # Values come from the operator's shell, never from the docs.
    for word in words:
        if word.startswith("--from-literal="):
            value = word.split("=", 2)[2]
            assert value.startswith("$"), word
