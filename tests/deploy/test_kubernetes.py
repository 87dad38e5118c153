"""deploy/kubernetes/: every manifest valid against Kubernetes' own schemas (kubernetes-validate,
offline, strict: an unknown field fails), and the shape docs/deploy.md promises: probes on the
processes' endpoints, a graceful stop, non-root read-only containers, resources sized from the
benchmark, an autoscaled worker, disruption budgets, and a Secret contract by names only."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest
import yaml

from cli.worker import SHUTDOWN_GRACE
from tests.deploy.support import (
    KUBERNETES,
    MIGRATE,
    PROCESSES,
    REPLAY,
    ROOT,
    SECRETS,
    WEB,
    WORKER,
    container,
    kubernetes_files,
    kubernetes_resources,
    kustomization,
    plain_env,
    pod_spec,
    port_number,
    resource,
    secret_refs,
)

# A release kubernetes-validate bundles schemas for; the manifests use nothing newer.
KUBERNETES_VERSION = "1.30.0"
IMAGE = "proctorflow"
UID = 10001  # the Dockerfile's `useradd --uid`


def validate(document: dict) -> None:
    import kubernetes_validate

    kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


MANIFESTS = [
    (folder, name)
    for folder in (KUBERNETES, REPLAY)
    for name in sorted(set(kubernetes_files(folder)) - {"kustomization.yaml"})
]


@pytest.mark.parametrize(("folder", "name"), MANIFESTS, ids=[f"{f.name}/{n}" for f, n in MANIFESTS])
def test_every_manifest_is_valid_against_the_kubernetes_schemas(folder, name):
    for document in kubernetes_files(folder)[name]:
        validate(document)


def test_the_validation_catches_a_misspelt_field_and_a_wrong_type():
    """The check above can fail: strict validation refuses what Kubernetes would refuse."""
    import kubernetes_validate

    deployment = yaml.safe_load(yaml.safe_dump(resource(*WEB)))
    spec = deployment["spec"]["template"]["spec"]["containers"][0]
    spec["readinesProbe"] = spec.pop("readinessProbe")
    with pytest.raises(kubernetes_validate.ValidationError, match="readinesProbe"):
        validate(deployment)
    job = yaml.safe_load(yaml.safe_dump(resource(*MIGRATE)))
    job["spec"]["backoffLimit"] = "three"
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(job)


def test_the_kustomization_applies_every_manifest_into_one_namespace():
    files = set(kubernetes_files()) - {"kustomization.yaml"}
    listed = kustomization()["resources"]
    assert sorted(listed) == sorted(files), "every manifest in deploy/kubernetes/ is listed, and only those"
    assert kustomization()["namespace"] == "proctorflow"
    for document in kubernetes_resources():
        # The kustomization sets the namespace; a manifest naming another would be moved silently.
        assert "namespace" not in document["metadata"], document["metadata"]
        assert document["metadata"]["labels"]["app.kubernetes.io/name"] == "proctorflow"
    kinds = sorted(r["kind"] for r in kubernetes_resources())
    assert kinds == sorted(
        [
            "ConfigMap",
            "Deployment",
            "Deployment",
            "HorizontalPodAutoscaler",
            "Job",
            "PodDisruptionBudget",
            "PodDisruptionBudget",
            "Service",
        ]
    )


@pytest.mark.parametrize("folder", [KUBERNETES, REPLAY], ids=["main", "replay"])
def test_the_kustomization_renders_and_the_result_is_valid(folder):
    """`kubectl kustomize` (kustomize inside kubectl) renders what `kubectl apply -k` applies."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed: the manifests are validated one by one above")
    result = subprocess.run([kubectl, "kustomize", str(folder)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    rendered = [d for d in yaml.safe_load_all(result.stdout) if d]
    assert len(rendered) == len(kubernetes_resources(folder))
    new = kustomization(folder)["images"][0]
    images = set()
    for document in rendered:
        validate(document)
        assert document["metadata"]["namespace"] == "proctorflow"
        assert document["metadata"]["labels"]["app.kubernetes.io/part-of"] == "proctorflow"
        for spec in [document["spec"]["template"]["spec"]] if "template" in document.get("spec", {}) else []:
            images |= {c["image"] for c in spec["containers"]}
    assert images == {f"{new['newName']}:{new['newTag']}"}


def test_web_worker_and_migration_run_the_one_image():
    (image,) = kustomization()["images"]
    assert image["name"] == IMAGE
    for workload in PROCESSES.values():
        spec = container(*workload)
        assert spec["image"] == IMAGE, workload
        assert "command" not in spec, "the image's entrypoint is `proctorflow`: pass args only"


def test_the_web_app_is_ready_on_healthz_and_alive_on_livez():
    spec = container(*WEB)
    port = int(spec["args"][spec["args"].index("--port") + 1])
    assert spec["args"][:3] == ["web", "--host", "0.0.0.0"]
    ready, alive = spec["readinessProbe"]["httpGet"], spec["livenessProbe"]["httpGet"]
    assert (ready["path"], port_number(spec, ready["port"])) == ("/healthz", port)
    assert (alive["path"], port_number(spec, alive["port"])) == ("/livez", port)
    assert spec["startupProbe"]["httpGet"]["path"] == "/livez"
    service = resource("Service", "proctorflow-web")
    assert service["spec"]["selector"] == resource(*WEB)["spec"]["selector"]["matchLabels"]
    (service_port,) = service["spec"]["ports"]
    assert port_number(spec, service_port["targetPort"]) == port


def test_the_worker_serves_its_probes_and_metrics_on_all_interfaces_and_is_probed_there():
    spec = container(*WORKER)
    env = plain_env(*WORKER)
    assert spec["args"] == ["worker"]
    assert (env["PROCTORFLOW_HEALTH_PORT"], env["PROCTORFLOW_HEALTH_HOST"]) == ("8081", "0.0.0.0")
    assert (env["PROCTORFLOW_METRICS_PORT"], env["PROCTORFLOW_METRICS_HOST"]) == ("9090", "0.0.0.0")
    ready, alive = spec["readinessProbe"]["httpGet"], spec["livenessProbe"]["httpGet"]
    assert (ready["path"], port_number(spec, ready["port"])) == ("/healthz", 8081)
    assert (alive["path"], port_number(spec, alive["port"])) == ("/livez", 8081)
    # /healthz asks Temporal about each of two task queues (3 s each at most) and waits up to
    # 5 s for the event loop: the probe waits longer than the answer can take.
    assert spec["readinessProbe"]["timeoutSeconds"] > 8
    assert spec["livenessProbe"]["timeoutSeconds"] > 5
    annotations = resource(*WORKER)["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == env["PROCTORFLOW_METRICS_PORT"]


def test_the_worker_stops_gracefully_and_rolls_without_dropping_a_poller():
    worker = resource(*WORKER)
    grace = worker["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    # Its two workers (attempts, then events) finish their activities one after the other.
    assert grace > 2 * SHUTDOWN_GRACE.total_seconds()
    rolling = worker["spec"]["strategy"]["rollingUpdate"]
    assert rolling["maxUnavailable"] == 0 and rolling["maxSurge"] not in (0, "0%")
    web = resource(*WEB)
    assert web["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


def test_the_worker_scales_out_on_cpu_and_kubectl_apply_does_not_reset_its_count():
    hpa = resource("HorizontalPodAutoscaler", "proctorflow-worker")
    assert hpa["apiVersion"] == "autoscaling/v2"
    target = hpa["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", "proctorflow-worker")
    assert 2 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]
    (metric,) = hpa["spec"]["metrics"]
    assert metric["resource"]["name"] == "cpu" and metric["resource"]["target"]["type"] == "Utilization"
    assert "replicas" not in resource(*WORKER)["spec"]


def test_each_deployment_has_a_disruption_budget():
    budgets = [r for r in kubernetes_resources() if r["kind"] == "PodDisruptionBudget"]
    for workload in (WEB, WORKER):
        labels = resource(*workload)["spec"]["selector"]["matchLabels"]
        assert [b for b in budgets if b["spec"]["selector"]["matchLabels"] == labels], workload


def mebibytes(quantity: str) -> float:
    number, unit = re.fullmatch(r"(\d+)(Mi|Gi)", quantity).groups()
    return int(number) * (1024 if unit == "Gi" else 1)


def test_resources_are_sized_from_the_benchmark():
    """bench/results/latest.json: the worker 141 MB at start, 200-206 MB with 500-2,000 attempts
    waiting, 228 MB at 10,000; the web app about 137 MB. Requests cover what was measured,
    limits leave room above it."""
    bench = json.loads((ROOT / "bench" / "results" / "latest.json").read_text())
    worker_mb = bench["worker_rss_mb_10k_waiting"]
    web_mb = bench["details"]["rss_mb_at_end"]["web"]
    for workload, measured in ((WORKER, worker_mb), (WEB, web_mb)):
        resources = container(*workload)["resources"]
        assert mebibytes(resources["requests"]["memory"]) >= measured, workload
        assert mebibytes(resources["limits"]["memory"]) >= 1.5 * measured, workload
    for workload in (WEB, WORKER, MIGRATE):
        resources = container(*workload)["resources"]
        for bound in ("requests", "limits"):
            assert set(resources[bound]) == {"cpu", "memory"}, (workload, bound)


@pytest.mark.parametrize("workload", list(PROCESSES.values()), ids=list(PROCESSES))
def test_containers_run_as_the_images_user_on_a_read_only_root(workload):
    pod = pod_spec(*workload)
    assert pod["automountServiceAccountToken"] is False
    context = pod["securityContext"]
    assert (context["runAsNonRoot"], context["runAsUser"]) == (True, UID)
    assert context["seccompProfile"]["type"] == "RuntimeDefault"
    own = container(*workload)["securityContext"]
    assert own["readOnlyRootFilesystem"] is True
    assert own["allowPrivilegeEscalation"] is False
    assert own["capabilities"]["drop"] == ["ALL"]
    # The one writable place: /tmp, an emptyDir of bounded size.
    mounts = {m["mountPath"]: m["name"] for m in container(*workload)["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes[mounts["/tmp"]]["emptyDir"]["sizeLimit"]


def test_the_user_id_is_the_images():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert f"useradd --system --uid {UID} proctorflow" in dockerfile
    assert "USER proctorflow" in dockerfile


def test_the_migration_runs_once_with_the_database_secret_alone():
    job = resource(*MIGRATE)
    assert container(*MIGRATE)["args"] == ["migrate"]
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    assert job["spec"]["backoffLimit"] >= 1
    assert set(secret_refs(*MIGRATE)) == {"PROCTORFLOW_DATABASE_URL"}


@pytest.mark.parametrize("workload", [WEB, WORKER], ids=["web", "worker"])
def test_every_secret_comes_from_the_proctorflow_secret_by_name(workload):
    refs = secret_refs(*workload)
    for secret in SECRETS:
        assert secret in refs, f"{workload[1]} does not read {secret} from the Secret"
        assert (refs[secret]["name"], refs[secret]["key"]) == ("proctorflow", secret)
        assert not refs[secret].get("optional"), f"{secret} is required: the process needs it to start"
    # The Secret is created by hand (docs/deploy.md); the rest of its keys are optional.
    for name, ref in refs.items():
        assert ref["name"] == "proctorflow" and ref["key"] == name
        assert name in SECRETS or ref.get("optional") is True, name
    assert not set(SECRETS) & set(plain_env(*workload)), "a secret is set as a plain value"
    (source,) = container(*workload)["envFrom"]
    assert source == {"configMapRef": {"name": "proctorflow"}}


def test_no_secret_value_sits_in_a_manifest():
    """The Secret is a contract by names: no manifest holds one, the ConfigMap none of its keys."""
    assert not [r for r in kubernetes_resources() if r["kind"] == "Secret"]
    config = resource("ConfigMap", "proctorflow")["data"]
    assert not set(config) & set(SECRETS)
    assert not [key for key in config if re.search(r"TOKEN|SECRET|PASSWORD|_KEY$|KEYS$|API_KEY", key)], config
    for key, value in config.items():
        assert not re.search(r"://[^/@\s]+:[^/@\s]+@", value), f"{key} holds credentials in a URL"
    assert config["PROCTORFLOW_TEMPORAL_ADDRESS"]
    assert config["PROCTORFLOW_PROCTORFREE_URL"].startswith("https://")


def test_the_optional_temporal_client_certificate_is_mounted_from_its_own_secret():
    for workload in (WEB, WORKER):
        volumes = {v["name"]: v for v in pod_spec(*workload)["volumes"]}
        secret = volumes["temporal-tls"]["secret"]
        assert secret == {"secretName": "proctorflow-temporal-tls", "optional": True}
        (mount,) = [m for m in container(*workload)["volumeMounts"] if m["name"] == "temporal-tls"]
        assert mount["readOnly"] is True
        commented = (KUBERNETES / "configmap.yaml").read_text()
        assert f"PROCTORFLOW_TEMPORAL_TLS_CERT: {mount['mountPath']}/tls.crt" in commented


def test_the_replay_job_runs_the_one_image_with_what_replay_needs_alone():
    """deploy/kubernetes/replay/: `proctorflow replay` with the next release's image, applied on
    its own (not by the main kustomization). It reads histories: Temporal and the payload keys."""
    files = set(kubernetes_files(REPLAY)) - {"kustomization.yaml"}
    assert sorted(kustomization(REPLAY)["resources"]) == sorted(files)
    assert kustomization(REPLAY)["namespace"] == kustomization()["namespace"]
    assert [i["name"] for i in kustomization(REPLAY)["images"]] == [IMAGE]
    (job,) = kubernetes_resources(REPLAY)
    assert job["kind"] == "Job" and job["spec"]["backoffLimit"] == 0
    pod = job["spec"]["template"]["spec"]
    (spec,) = pod["containers"]
    assert spec["image"] == IMAGE and spec["args"][0] == "replay"
    refs = {item["name"]: item["valueFrom"]["secretKeyRef"] for item in spec["env"]}
    assert not refs["PROCTORFLOW_PAYLOAD_KEYS"].get("optional")
    assert set(refs) == {"PROCTORFLOW_PAYLOAD_KEYS", "PROCTORFLOW_TEMPORAL_API_KEY"}
    assert spec["envFrom"] == container(*WEB)["envFrom"]
    assert pod["securityContext"]["runAsUser"] == UID
    assert spec["securityContext"]["readOnlyRootFilesystem"] is True
    # Its resources are the worker's: it runs the same workflow code over the same histories.
    assert spec["resources"] == container(*WORKER)["resources"]
