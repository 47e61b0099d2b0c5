"""deploy/: the Dockerfile (hadolint) and the Kubernetes example (kubernetes-validate,
yamllint) are linted here, so `make test` and CI lint them; and what they promise is
checked: `pip install .` with the lock, a non-root user, the warm health check, replicas
with a readiness probe, secrets from the cluster, session affinity.

No Docker engine exists where these tests run, so the image itself is not built; the
build's own step (`pip install .` from the files the Dockerfile copies) is tested in
tests/test_packaging.py."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
DOCKERFILE = DEPLOY / "Dockerfile"
MANIFESTS = sorted((DEPLOY / "kubernetes").glob("*.yaml"))


def tool(name: str) -> str:
    """A linter installed with the test extra (requirements.lock) in this interpreter's
    environment; skipped locally when missing, failed in CI."""
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail(f"{name} is missing: it is pinned in requirements.lock (make setup)")
    pytest.skip(f"{name} is not installed here (make setup installs requirements.lock)")


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)


# ---------------------------------------------------------------- the Dockerfile


def test_hadolint_passes_the_dockerfile():
    result = run(tool("hadolint"), "--no-color", str(DOCKERFILE))
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_really_lints(tmp_path):
    """The linter is not a no-op: a Dockerfile with known faults fails."""
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM debian:latest\nRUN apt-get install -y curl\n")
    result = run(tool("hadolint"), "--no-color", str(bad))
    assert result.returncode != 0
    assert "DL3007" in result.stdout and "DL3008" in result.stdout


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined."""
    joined = DOCKERFILE.read_text(encoding="utf-8").replace("\\\n", " ")
    out = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), " ".join(rest.split())))
    return out


def test_the_image_installs_exactly_the_package_with_the_lock():
    runs = [args for word, args in _instructions() if word == "RUN"]
    installs = [r for r in runs if "pip install" in r]
    assert len(installs) == 1
    words = installs[0].split("&&")[0].split()
    assert words[:2] == ["pip", "install"]
    assert "--constraint" in words and words[words.index("--constraint") + 1] == (
        "requirements.lock"
    )
    assert words[-1] == "."  # `pip install .`, nothing else installed


def test_the_image_runs_as_a_non_root_user_and_checks_it_is_warm():
    instructions = _instructions()
    users = [args for word, args in instructions if word == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert ("EXPOSE", "8501") in instructions
    (health,) = [args for word, args in instructions if word == "HEALTHCHECK"]
    assert "/healthz" in health
    (command,) = [args for word, args in instructions if word == "CMD"]
    assert "alliance-board" in command and "site" in command and "8501" in command


def test_the_image_copies_no_secrets_and_ignores_local_state():
    copies = [args for word, args in _instructions() if word == "COPY"]
    assert not any("secrets" in c for c in copies)
    ignored = (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
    assert ".streamlit/secrets.toml" in ignored and ".venv" in ignored


# ---------------------------------------------------------------- Kubernetes


def test_kubernetes_validate_passes_the_manifests():
    assert MANIFESTS
    result = run(tool("kubernetes-validate"), "--strict", *map(str, MANIFESTS))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("passed") == len(MANIFESTS)


def test_kubernetes_validate_really_validates(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "apiVersion: v1\nkind: Service\nmetadata: {name: x}\n"
        "spec: {sessionAffinity: Sticky, ports: [{port: http}]}\n"
    )
    result = run(tool("kubernetes-validate"), "--strict", str(bad))
    assert result.returncode != 0


def test_yamllint_passes_the_manifests():
    result = run(tool("yamllint"), "-c", str(DEPLOY / ".yamllint.yaml"), *map(str, MANIFESTS))
    assert result.returncode == 0, result.stdout + result.stderr


def _resources() -> dict[str, dict]:
    found = {}
    for path in MANIFESTS:
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if document:
                found[document["kind"]] = document
    return found


def test_the_deployment_has_replicas_a_warm_readiness_probe_resources_and_secrets():
    deployment = _resources()["Deployment"]
    assert deployment["spec"]["replicas"] >= 2
    pod = deployment["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    (site,) = pod["containers"]
    assert site["readinessProbe"]["httpGet"]["path"] == "/healthz"
    assert site["resources"]["requests"]["cpu"] and site["resources"]["requests"]["memory"]
    mounts = {m["name"]: m for m in site["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    secret_mounts = [name for name, v in volumes.items() if "secret" in v]
    assert secret_mounts
    secret = volumes[secret_mounts[0]]["secret"]
    assert [i["path"] for i in secret["items"]] == ["secrets.toml"]
    # Mounted as .streamlit/ of the working folder the image sets, where Streamlit reads it.
    workdir = [args for word, args in _instructions() if word == "WORKDIR"][-1]
    assert mounts[secret_mounts[0]]["mountPath"] == f"{workdir}/.streamlit"
    env = {e["name"]: e.get("value") for e in site["env"]}
    shared = mounts["board"]["mountPath"]
    assert env["ALLIANCE_CONFIG_DIR"].startswith(shared + "/")  # one folder for every replica
    claim = volumes["board"]["persistentVolumeClaim"]["claimName"]
    pvc = _resources()["PersistentVolumeClaim"]
    assert pvc["metadata"]["name"] == claim and pvc["spec"]["accessModes"] == ["ReadWriteMany"]


def test_the_service_and_the_ingress_keep_a_session_on_one_replica():
    resources = _resources()
    service = resources["Service"]
    assert service["spec"]["sessionAffinity"] == "ClientIP"
    pod_labels = resources["Deployment"]["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    annotations = resources["Ingress"]["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/affinity"] == "cookie"
    assert int(annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 3600
    backend = resources["Ingress"]["spec"]["rules"][0]["http"]["paths"][0]["backend"]
    assert backend["service"]["name"] == service["metadata"]["name"]
