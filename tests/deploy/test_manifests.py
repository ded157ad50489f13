"""Deployment artefacts: the offline validator passes, its checks can fail, and the
rendered manifests and compose file carry what a reviewer looks for."""

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import compose
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / ".venv"
KUBECTL = VENV / "bin" / "kubectl"
# The Go binary the validator runs too: the console script wrapper drops exit codes.
COMPOSE = Path(compose.__file__).with_name("docker-compose")

# Every service Deployment, its gRPC port, and the directories it must be able to write.
SERVICES = {
    "ingest": (50051, ["/tmp", "/var/spool/attune"]),
    "trainer": (50052, ["/tmp", "/var/tmp/attune"]),
    "deployer": (50053, ["/tmp", "/var/cache/attune/models"]),
}
MIGRATIONS = ["python -m ingest.migrate", "python -m trainer.migrate", "python -m deployer.migrate"]


def run_validator(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(root / "scripts" / "validate_deploy.sh")],
        capture_output=True,
        text=True,
        check=False,
    )


def render(target: str) -> list[dict[str, Any]]:
    out = subprocess.run(
        [str(KUBECTL), "kustomize", str(ROOT / target)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


def compose_config() -> dict[str, Any]:
    """docker-compose.yml as compose itself resolves it (anchors, merges, defaults)."""
    out = subprocess.run(
        [str(COMPOSE), "-f", str(ROOT / "docker-compose.yml"), "config", "--format", "json"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    config: dict[str, Any] = json.loads(out)
    return config


def find(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    matches = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(matches) == 1, f"expected one {kind}/{name}, found {len(matches)}"
    return matches[0]


def kinds(docs: list[dict[str, Any]], kind: str) -> set[str]:
    return {d["metadata"]["name"] for d in docs if d["kind"] == kind}


def migration_steps(command: list[str]) -> list[str]:
    """The steps of an `sh -c "a && b && c"` command; && so that a failed step stops the rest."""
    assert command[:2] == ["sh", "-c"], command
    return [step.strip() for step in command[2].split("&&")]


def cpu_cores(quantity: str) -> float:
    return float(quantity[:-1]) / 1000 if quantity.endswith("m") else float(quantity)


def memory_bytes(quantity: str) -> int:
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30}
    return int(quantity[:-2]) * units[quantity[-2:]] if quantity[-2:] in units else int(quantity)


def copy_project(tmp_path: Path) -> Path:
    """A copy of what the validator reads, sharing this checkout's virtualenv."""
    shutil.copytree(ROOT / "scripts", tmp_path / "scripts")
    shutil.copytree(ROOT / "deploy", tmp_path / "deploy")
    shutil.copy(ROOT / "docker-compose.yml", tmp_path / "docker-compose.yml")
    (tmp_path / ".venv").symlink_to(VENV.resolve(), target_is_directory=True)
    return tmp_path


def test_validator_passes_on_the_repository() -> None:
    result = run_validator(ROOT)

    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert "ok   compose config docker-compose.yml" in lines
    for target in ("deploy/k8s/base", "deploy/k8s/overlays/dev", "deploy/k8s/overlays/prod"):
        assert any(line.startswith("ok ") and line.endswith(target) for line in lines), target
    assert all(line.startswith("ok ") for line in lines), result.stdout


def test_validator_fails_on_an_unknown_compose_key(tmp_path: Path) -> None:
    root = copy_project(tmp_path)
    compose_file = root / "docker-compose.yml"
    compose = yaml.safe_load(compose_file.read_text())
    compose["services"]["deployer"]["restart_policy"] = "always"
    compose_file.write_text(yaml.safe_dump(compose))

    result = run_validator(root)

    assert result.returncode != 0
    assert "FAIL compose config" in result.stdout
    assert "restart_policy" in result.stdout


def test_validator_fails_on_an_unknown_manifest_field(tmp_path: Path) -> None:
    root = copy_project(tmp_path)
    manifest = root / "deploy" / "k8s" / "base" / "deployer-deployment.yaml"
    deployment = yaml.safe_load(manifest.read_text())
    deployment["spec"]["template"]["spec"]["containers"][0]["livenessProbes"] = {}
    manifest.write_text(yaml.safe_dump(deployment))

    result = run_validator(root)

    assert result.returncode != 0
    assert "FAIL kustomize + kubernetes-validate --strict" in result.stdout
    assert "livenessProbes" in result.stdout


@pytest.mark.parametrize("target", ["deploy/k8s/base", "deploy/k8s/overlays/dev", "deploy/k8s/overlays/prod"])
@pytest.mark.parametrize("service", sorted(SERVICES))
def test_deployment_is_probed_confined_and_sized(target: str, service: str) -> None:
    port, writable = SERVICES[service]
    docs = render(target)
    pod = find(docs, "Deployment", service)["spec"]["template"]["spec"]
    (container,) = pod["containers"]

    assert container["command"] == ["python", "-m", service]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["grpc"]["port"] == port, probe
    assert {"name": "grpc", "containerPort": port, "protocol": "TCP"} in container["ports"]
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
    assert container["resources"]["requests"].keys() >= {"cpu", "memory"}
    assert container["resources"]["limits"].keys() >= {"cpu", "memory"}
    # With a read-only root, the directories the service writes are emptyDir volumes.
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    for path in writable:
        assert path in mounts, f"{service} cannot write {path}"
        assert "sizeLimit" in volumes[mounts[path]]["emptyDir"], path


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_each_service_is_reachable_by_name_on_its_grpc_port(service: str) -> None:
    port, _ = SERVICES[service]
    docs = render("deploy/k8s/base")
    svc = find(docs, "Service", service)
    deployment = find(docs, "Deployment", service)

    assert svc["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    assert {"name": "grpc", "port": port, "targetPort": "grpc", "protocol": "TCP"} in svc["spec"]["ports"]


def test_services_find_each_other_and_their_writable_directories() -> None:
    docs = render("deploy/k8s/base")
    config = find(docs, "ConfigMap", "attune-config")["data"]
    secret = find(docs, "Secret", "attune-secrets")["stringData"]

    # Addresses name a Service and its port, so they resolve inside the namespace.
    for key in ("ATTUNE_TRAINER_INGEST_ADDRESS", "ATTUNE_DEPLOYER_INGEST_ADDRESS", "ATTUNE_DEPLOYER_TRAINER_ADDRESS"):
        host, port = config[key].split(":")
        svc = find(docs, "Service", host)
        assert int(port) in [p["port"] for p in svc["spec"]["ports"]], key
    for service, (port, _) in SERVICES.items():
        prefix = f"ATTUNE_{service.upper()}_"
        assert config[f"{prefix}GRPC_PORT"] == str(port)
        assert secret.keys() >= {
            f"{prefix}{name}" for name in ("DATABASE_URL", "AMQP_URL", "S3_ACCESS_KEY", "S3_SECRET_KEY")
        }
    assert config["ATTUNE_TRAINER_WORK_DIR"] in SERVICES["trainer"][1]
    assert config["ATTUNE_DEPLOYER_MODEL_CACHE_DIR"] in SERVICES["deployer"][1]


def test_deployer_scales_on_cpu_and_waits_for_its_models() -> None:
    docs = render("deploy/k8s/base")
    deployment = find(docs, "Deployment", "deployer")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    hpa = find(docs, "HorizontalPodAutoscaler", "deployer")

    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "deployer"}
    assert 2 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]
    (metric,) = hpa["spec"]["metrics"]
    assert metric["resource"]["name"] == "cpu"
    assert metric["resource"]["target"]["type"] == "Utilization"
    # The autoscaler owns the count; a replicas field would reset it on every apply.
    assert "replicas" not in deployment["spec"]
    # Readiness means every endpoint's model is loaded: give that minutes, not seconds.
    startup = container["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 300
    assert cpu_cores(container["resources"]["requests"]["cpu"]) >= 1
    assert cpu_cores(container["resources"]["limits"]["cpu"]) >= 2
    # One decoder process per core the pod may use, not per core of the node.
    (decoders,) = [e for e in container["env"] if e["name"] == "ATTUNE_DEPLOYER_DECODER_PROCESSES"]
    assert decoders["valueFrom"]["resourceFieldRef"]["resource"] == "limits.cpu"
    assert find(docs, "PodDisruptionBudget", "deployer")["spec"]["selector"]["matchLabels"] == {
        "app.kubernetes.io/name": "deployer"
    }


def test_base_migrates_every_schema_before_serving_and_labels_everything() -> None:
    docs = render("deploy/k8s/base")
    (job_name,) = kinds(docs, "Job")
    job = find(docs, "Job", job_name)
    (container,) = job["spec"]["template"]["spec"]["containers"]

    assert migration_steps(container["command"]) == MIGRATIONS
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert job["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True
    # The Job's pod must never count as a serving replica of any service.
    job_labels = job["spec"]["template"]["metadata"]["labels"]
    for service in SERVICES:
        assert job_labels["app.kubernetes.io/name"] != service
    for doc in docs:
        labels = doc["metadata"]["labels"]
        assert labels["app.kubernetes.io/part-of"] == "attune", doc["metadata"]["name"]
        assert "app.kubernetes.io/name" in labels, doc["metadata"]["name"]


def test_dev_runs_one_of_each_without_budgets_or_autoscaling() -> None:
    docs = render("deploy/k8s/overlays/dev")

    for service in SERVICES:
        assert find(docs, "Deployment", service)["spec"]["replicas"] == 1, service
    assert kinds(docs, "PodDisruptionBudget") == set()
    assert kinds(docs, "HorizontalPodAutoscaler") == set()
    assert kinds(docs, "StatefulSet") == {"postgres", "rabbitmq", "minio"}


def test_prod_runs_more_and_bigger_replicas_in_its_namespace() -> None:
    base = render("deploy/k8s/base")
    docs = render("deploy/k8s/overlays/prod")

    assert kinds(docs, "Namespace") == {"attune"}
    assert all(d["metadata"].get("namespace") == "attune" for d in docs if d["kind"] != "Namespace")
    assert kinds(docs, "Secret") == set()
    assert kinds(docs, "PodDisruptionBudget") == set(SERVICES)
    for service in ("ingest", "trainer"):
        assert find(docs, "Deployment", service)["spec"]["replicas"] >= 3, service
    assert find(docs, "HorizontalPodAutoscaler", "deployer")["spec"]["minReplicas"] >= 3
    for service in SERVICES:
        (before,) = find(base, "Deployment", service)["spec"]["template"]["spec"]["containers"]
        (after,) = find(docs, "Deployment", service)["spec"]["template"]["spec"]["containers"]
        for bound in ("requests", "limits"):
            assert cpu_cores(after["resources"][bound]["cpu"]) > cpu_cores(before["resources"][bound]["cpu"])
            assert memory_bytes(after["resources"][bound]["memory"]) > memory_bytes(
                before["resources"][bound]["memory"]
            )


def test_compose_migrates_every_schema_then_starts_services_in_order() -> None:
    services = compose_config()["services"]
    migrate = services["migrate"]

    assert migration_steps(migrate["command"]) == MIGRATIONS
    # Each migration reads its own service's settings.
    for service in SERVICES:
        assert f"ATTUNE_{service.upper()}_DATABASE_URL" in migrate["environment"], service
    for service in SERVICES:
        assert services[service]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["trainer"]["depends_on"]["ingest"]["condition"] == "service_healthy"
    assert services["deployer"]["depends_on"]["trainer"]["condition"] == "service_healthy"


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_compose_service_is_health_checked_and_confined(service: str) -> None:
    port, writable = SERVICES[service]
    config = compose_config()
    spec = config["services"][service]
    prefix = f"ATTUNE_{service.upper()}_"

    assert spec["command"] == ["python", "-m", service]
    assert spec["healthcheck"]["test"] == ["CMD", "python", "-m", "common.healthcheck", f"127.0.0.1:{port}"]
    assert spec["environment"][f"{prefix}GRPC_PORT"] == str(port)
    assert spec["read_only"] is True
    assert "/tmp" in spec["tmpfs"]
    # Every other writable directory is a named volume (packages and uploads are large).
    volumes = {v["target"]: v for v in spec.get("volumes", [])}
    for path in writable[1:]:
        assert volumes[path]["type"] == "volume", path
        assert volumes[path]["source"] in config["volumes"], path
    # Each service talks to the others by their compose names.
    for key, value in spec["environment"].items():
        if key.endswith("_ADDRESS"):
            host, other_port = value.split(":")
            assert config["services"][host]["environment"][f"ATTUNE_{host.upper()}_GRPC_PORT"] == other_port


def test_compose_shares_one_set_of_infrastructure_settings() -> None:
    services = compose_config()["services"]

    for name in ("DATABASE_URL", "AMQP_URL", "S3_ENDPOINT", "S3_ACCESS_KEY", "S3_SECRET_KEY", "S3_BUCKET"):
        values = {services[s]["environment"][f"ATTUNE_{s.upper()}_{name}"] for s in SERVICES}
        assert len(values) == 1, name
    assert services["deployer"]["environment"]["ATTUNE_DEPLOYER_MODEL_CACHE_DIR"] in SERVICES["deployer"][1]
    assert services["trainer"]["environment"]["ATTUNE_TRAINER_WORK_DIR"] in SERVICES["trainer"][1]
