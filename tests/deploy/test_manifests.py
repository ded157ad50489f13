"""Deployment artefacts: the offline validator passes, its checks can fail, and the
rendered manifests carry what a reviewer looks for."""

import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "validate_deploy.sh"
VENV = ROOT / ".venv"
KUBECTL = VENV / "bin" / "kubectl"


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


def find(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    matches = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(matches) == 1, f"expected one {kind}/{name}, found {len(matches)}"
    return matches[0]


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
    compose["services"]["ingest"]["restart_policy"] = "always"
    compose_file.write_text(yaml.safe_dump(compose))

    result = run_validator(root)

    assert result.returncode != 0
    assert "FAIL compose config" in result.stdout
    assert "restart_policy" in result.stdout


def test_validator_fails_on_an_unknown_manifest_field(tmp_path: Path) -> None:
    root = copy_project(tmp_path)
    manifest = root / "deploy" / "k8s" / "base" / "ingest-deployment.yaml"
    deployment = yaml.safe_load(manifest.read_text())
    deployment["spec"]["template"]["spec"]["containers"][0]["livenessProbes"] = {}
    manifest.write_text(yaml.safe_dump(deployment))

    result = run_validator(root)

    assert result.returncode != 0
    assert "FAIL kustomize + kubernetes-validate --strict" in result.stdout
    assert "livenessProbes" in result.stdout


def test_ingest_deployment_is_probed_confined_and_sized() -> None:
    docs = render("deploy/k8s/base")
    pod = find(docs, "Deployment", "ingest")["spec"]["template"]["spec"]
    (container,) = pod["containers"]

    assert container["readinessProbe"]["grpc"]["port"] == 50051
    assert container["livenessProbe"]["grpc"]["port"] == 50051
    assert container["startupProbe"]["grpc"]["port"] == 50051
    assert {"name": "grpc", "containerPort": 50051, "protocol": "TCP"} in container["ports"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
    assert container["resources"]["requests"].keys() >= {"cpu", "memory"}
    assert container["resources"]["limits"].keys() >= {"cpu", "memory"}


def test_base_migrates_before_serving_and_labels_everything() -> None:
    docs = render("deploy/k8s/base")
    job = find(docs, "Job", "ingest-migrate")
    (container,) = job["spec"]["template"]["spec"]["containers"]

    assert container["command"] == ["python", "-m", "ingest.migrate"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    for doc in docs:
        labels = doc["metadata"]["labels"]
        assert labels["app.kubernetes.io/part-of"] == "attune", doc["metadata"]["name"]
        assert "app.kubernetes.io/name" in labels, doc["metadata"]["name"]
