"""Shared fixtures of the end-to-end tests: they run against the real cluster that playbooks/cluster.yml made.

Without a cluster (no kubeconfig, API server not answering) every test fails with the reason; nothing is
skipped. Keep the fixtures generic: each test module builds what it needs from these.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tarfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from kubernetes import client, config
from kubernetes.client.rest import ApiException

KUBECONFIG = os.environ.get("CLOUDNATIVE_KUBECONFIG", "/etc/kubernetes/admin.conf")
BIN_DIR = Path(os.environ.get("CLOUDNATIVE_BIN_DIR", "/opt/cloudnative/bin"))
REGISTRY = os.environ.get("CLOUDNATIVE_REGISTRY", "registry.cloudnative:5000")
REGISTRY_CA = Path("/etc/cloudnative/registry/ca.crt")
REGISTRY_USER = "cloudnative"
REGISTRY_PASSWORD_FILE = Path.home() / ".config/cloudnative-httpserver/registry-password"
AUDIT_LOG = Path("/var/log/kubernetes/audit/audit.log")
BUSYBOX = Path("/bin/busybox")  # Debian's busybox-static: one static binary, enough for a test image
REPO_ROOT = Path(__file__).resolve().parents[2]


def wait_for(
    predicate: Callable[[], object],
    timeout: float,
    interval: float = 1.0,
    what: str | Callable[[], str] = "condition",
):
    """Poll until predicate returns something truthy; fail with `what` (or what() then) after `timeout` s."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            result = predicate()
            if result:
                return result
        except (ApiException, OSError, subprocess.SubprocessError, ValueError, KeyError) as error:
            last_error = error
        time.sleep(interval)
    detail = f" (last error: {last_error})" if last_error else ""
    described = what() if callable(what) else what
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {described}{detail}", pytrace=False)


def audit_entries() -> list[dict]:
    """Every event of the API server's current audit log file."""
    return [json.loads(line) for line in AUDIT_LOG.read_text().splitlines() if line.strip()]


def kubectl(*args: str, input_text: str | None = None, check: bool = True, timeout: float = 60):
    """Run kubectl with the admin kubeconfig; return the CompletedProcess (text)."""
    # The cluster's own kubectl first: another one on PATH may be minor versions away.
    binary = (
        str(BIN_DIR / "kubectl") if (BIN_DIR / "kubectl").is_file() else shutil.which("kubectl") or "kubectl"
    )
    proc = subprocess.run(
        [binary, f"--kubeconfig={KUBECONFIG}", *args],
        input=input_text,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if check and proc.returncode != 0:
        pytest.fail(
            f"kubectl {' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip()}", pytrace=False
        )
    return proc


def registry_password() -> str:
    password = os.environ.get("CLOUDNATIVE_REGISTRY_PASSWORD")
    if password:
        return password
    if not REGISTRY_PASSWORD_FILE.is_file():
        pytest.fail(
            f"no registry password: set CLOUDNATIVE_REGISTRY_PASSWORD or run cluster.yml "
            f"(which writes {REGISTRY_PASSWORD_FILE})",
            pytrace=False,
        )
    return REGISTRY_PASSWORD_FILE.read_text().strip()


@pytest.fixture(scope="session")
def kube_api() -> client.ApiClient:
    """A client of the cluster; fails (not skips) when there is none."""
    if not Path(KUBECONFIG).is_file():
        pytest.fail(f"no cluster: {KUBECONFIG} is missing (run playbooks/cluster.yml first)", pytrace=False)
    api = config.new_client_from_config(config_file=KUBECONFIG)
    try:
        client.VersionApi(api).get_code()
    except Exception as error:
        pytest.fail(f"no cluster: the API server in {KUBECONFIG} does not answer ({error})", pytrace=False)
    return api


@pytest.fixture(scope="session")
def core_v1(kube_api) -> client.CoreV1Api:
    return client.CoreV1Api(kube_api)


@pytest.fixture
def namespace(core_v1) -> Iterator[str]:
    """A fresh namespace for one test, deleted afterwards (with everything in it)."""
    name = f"e2e-{uuid.uuid4().hex[:8]}"
    core_v1.create_namespace(
        client.V1Namespace(metadata=client.V1ObjectMeta(name=name, labels={"e2e": "true"}))
    )
    yield name
    core_v1.delete_namespace(name, propagation_policy="Foreground")


@dataclass(frozen=True)
class TestImage:
    ref: str
    pull_secret: str


def run_or_fail(
    argv: list[str],
    what: str,
    *,
    input_data: str | bytes | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess:
    """Run argv; on a non-zero exit fail the test with "<what> failed: <its stderr>".

    Text in and out, unless input_data is bytes: then bytes (the CompletedProcess holds bytes too).
    """
    text = not isinstance(input_data, bytes)
    proc = subprocess.run(
        argv, input=input_data, capture_output=True, text=text, env=env, timeout=timeout, check=False
    )
    if proc.returncode != 0:
        stderr = proc.stderr if text else proc.stderr.decode()
        pytest.fail(f"{what} failed: {stderr.strip()}", pytrace=False)
    return proc


def crane(*args: str, env: dict[str, str], input_text: str | None = None) -> str:
    return run_or_fail(
        [str(BIN_DIR / "crane"), *args], f"crane {args[0]}", input_data=input_text, env=env
    ).stdout.strip()


@pytest.fixture(scope="session")
def crane_env(tmp_path_factory) -> dict[str, str]:
    """The environment crane pushes to the project's registry with (logged in, trusting its CA)."""
    docker_config = tmp_path_factory.mktemp("crane") / "docker"
    env = dict(
        os.environ, DOCKER_CONFIG=str(docker_config), SSL_CERT_DIR=f"/etc/ssl/certs:{REGISTRY_CA.parent}"
    )
    crane(
        "auth",
        "login",
        REGISTRY,
        "--username",
        REGISTRY_USER,
        "--password-stdin",
        env=env,
        input_text=registry_password(),
    )
    return env


@pytest.fixture(scope="session")
def busybox_image(tmp_path_factory, crane_env) -> str:
    """registry.cloudnative:5000/cloudnative/e2e-busybox: Debian's static busybox in a one-layer image."""
    if not BUSYBOX.is_file():
        pytest.fail(f"{BUSYBOX} is missing: apt-get install busybox-static", pytrace=False)
    work = tmp_path_factory.mktemp("busybox-image")
    layer = work / "layer.tar"
    with tarfile.open(layer, "w") as tar:
        info = tar.gettarinfo(str(BUSYBOX), arcname="bin/busybox")
        info.uid = info.gid = 0
        with BUSYBOX.open("rb") as binary:
            tar.addfile(info, binary)
        for directory in ("tmp", "etc"):
            entry = tarfile.TarInfo(directory)
            entry.type, entry.mode = tarfile.DIRTYPE, 0o1777 if directory == "tmp" else 0o755
            tar.addfile(entry)
    ref = f"{REGISTRY}/cloudnative/e2e-busybox:1"
    crane("append", "--new_layer", str(layer), "--new_tag", ref, env=crane_env)
    crane("mutate", ref, "--entrypoint", "/bin/busybox", "--user", "65532:65532", env=crane_env)
    return ref


@pytest.fixture
def pull_secret(core_v1, namespace) -> str:
    """A dockerconfigjson Secret in the test namespace for the project's registry."""
    password = registry_password()
    auth = base64.b64encode(f"{REGISTRY_USER}:{password}".encode()).decode()
    dockerconfig = {"auths": {REGISTRY: {"username": REGISTRY_USER, "password": password, "auth": auth}}}
    core_v1.create_namespaced_secret(
        namespace,
        client.V1Secret(
            metadata=client.V1ObjectMeta(name="registry"),
            type="kubernetes.io/dockerconfigjson",
            string_data={".dockerconfigjson": json.dumps(dockerconfig)},
        ),
    )
    return "registry"


def pod_phase(core_v1: client.CoreV1Api, namespace: str, name: str) -> str:
    return core_v1.read_namespaced_pod(name, namespace).status.phase or ""


def wait_for_pod_end(core_v1: client.CoreV1Api, namespace: str, name: str, timeout: float, what: str) -> str:
    """Wait until the pod `name` has Succeeded or Failed; return which."""

    def ended() -> str | None:
        phase = pod_phase(core_v1, namespace, name)
        return phase if phase in ("Succeeded", "Failed") else None

    return wait_for(ended, timeout, what=what)


def pod_ready(core_v1: client.CoreV1Api, namespace: str, name: str) -> bool:
    conditions = core_v1.read_namespaced_pod(name, namespace).status.conditions or []
    return any(c.type == "Ready" and c.status == "True" for c in conditions)


def busybox_pod(
    name: str,
    image: str,
    pull_secret: str,
    command: list[str],
    labels: dict | None = None,
    restart: str = "Always",
    port: int | None = None,
) -> client.V1Pod:
    """A restricted-PodSecurity pod running busybox with `command`."""
    container = client.V1Container(
        name=name,
        image=image,
        args=command,
        image_pull_policy="IfNotPresent",
        ports=[client.V1ContainerPort(container_port=port)] if port else None,
        security_context=client.V1SecurityContext(
            allow_privilege_escalation=False,
            run_as_non_root=True,
            run_as_user=65532,
            capabilities=client.V1Capabilities(drop=["ALL"]),
            seccomp_profile=client.V1SeccompProfile(type="RuntimeDefault"),
        ),
    )
    return client.V1Pod(
        metadata=client.V1ObjectMeta(name=name, labels=labels or {"app": name}),
        spec=client.V1PodSpec(
            containers=[container],
            restart_policy=restart,
            image_pull_secrets=[client.V1LocalObjectReference(name=pull_secret)],
            termination_grace_period_seconds=1,
        ),
    )
