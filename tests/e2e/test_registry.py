"""The registry refuses anonymous clients and serves authenticated ones, through Docker and containerd.

Runs against the registry that the registry role started (cloudnative-registry on 127.0.0.1:5000, TLS with
its own CA, htpasswd). Needs Docker Engine (for the push) and containerd (for the containerd pull); when one
of them does not answer the test fails with the reason.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tarfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import certifi
import pytest
import requests
from conftest import REGISTRY, REGISTRY_CA, REGISTRY_USER, registry_password, run_or_fail

REGISTRY_URL = f"https://{REGISTRY}"
CONTAINERD_SOCKET = "/run/containerd/containerd.sock"
CONTAINERD_HOSTS_DIR = "/etc/containerd/certs.d"
BIN_DIR = Path(os.environ.get("CLOUDNATIVE_BIN_DIR", "/opt/cloudnative/bin"))


def run(*argv: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=timeout, check=False)


def ctr_binary() -> str:
    """The ctr of the containerd that runs the cluster: the built one when present, else Debian's."""
    built = BIN_DIR / "ctr"
    return str(built) if built.is_file() else shutil.which("ctr") or "ctr"


def registry_get(path: str, auth: tuple[str, str] | None = None, accept: str = "") -> requests.Response:
    headers = {"Accept": accept} if accept else {}
    return requests.get(
        f"{REGISTRY_URL}{path}", auth=auth, headers=headers, verify=str(REGISTRY_CA), timeout=10
    )


@dataclass(frozen=True)
class PushedImage:
    repository: str
    tag: str
    image_id: str

    @property
    def ref(self) -> str:
        return f"{REGISTRY}/{self.repository}:{self.tag}"


@pytest.fixture(scope="module")
def registry_answers() -> None:
    if not REGISTRY_CA.is_file():
        pytest.fail(f"{REGISTRY_CA} is missing: run the registry role (playbooks/cluster.yml)", pytrace=False)
    try:
        registry_get("/v2/")
    except requests.RequestException as error:
        pytest.fail(f"the registry at {REGISTRY_URL} does not answer: {error}", pytrace=False)


@pytest.fixture(scope="module")
def docker_config(tmp_path_factory, registry_answers) -> Iterator[dict[str, str]]:
    """Environment of a docker client logged in to the registry (its own DOCKER_CONFIG, not root's)."""
    if run("docker", "info", timeout=20).returncode != 0:
        pytest.fail("Docker Engine does not answer (`docker info` fails): run the container_runtime role")
    config_dir = tmp_path_factory.mktemp("docker-config")
    env = dict(os.environ, DOCKER_CONFIG=str(config_dir))
    run_or_fail(
        ["docker", "login", REGISTRY, "--username", REGISTRY_USER, "--password-stdin"],
        f"docker login {REGISTRY}",
        input_data=registry_password(),
        env=env,
        timeout=60,
    )
    yield env


@pytest.fixture(scope="module")
def pushed_image(docker_config) -> Iterator[PushedImage]:
    """A one-file image (unique content) imported into Docker and pushed with credentials."""
    marker = uuid.uuid4().hex
    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w") as tar:
        data = f"e2e registry test {marker}\n".encode()
        info = tarfile.TarInfo("marker.txt")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    repository, tag = "cloudnative/e2e-registry", marker[:12]
    ref = f"{REGISTRY}/{repository}:{tag}"
    imported = run_or_fail(
        ["docker", "import", "-", ref],
        "docker import",
        input_data=layer.getvalue(),
        env=docker_config,
        timeout=60,
    )
    image_id = imported.stdout.decode().strip()
    run_or_fail(["docker", "push", ref], f"authenticated docker push of {ref}", env=docker_config)
    yield PushedImage(repository, tag, image_id)
    run("docker", "rmi", "--force", ref, env=docker_config)


def test_anonymous_api_request_is_refused_with_a_basic_challenge(registry_answers):
    response = registry_get("/v2/")
    assert response.status_code == 401, f"anonymous GET /v2/ answered {response.status_code}, expected 401"
    assert response.headers.get("WWW-Authenticate", "").startswith("Basic realm="), response.headers


def test_wrong_password_is_refused(registry_answers):
    response = registry_get("/v2/", auth=(REGISTRY_USER, "not-the-password"))
    assert response.status_code == 401, f"a wrong password got {response.status_code}, expected 401"


def test_right_password_is_accepted(registry_answers):
    response = registry_get("/v2/", auth=(REGISTRY_USER, registry_password()))
    assert response.status_code == 200, f"the right password got {response.status_code}, expected 200"


def test_certificate_covers_every_name_and_chains_to_the_registry_ca_only(registry_answers):
    port = REGISTRY.rsplit(":", 1)[1]
    for host in ("registry.cloudnative", "localhost", "127.0.0.1"):
        url = f"https://{host}:{port}/v2/"
        assert requests.get(url, verify=str(REGISTRY_CA), timeout=10).status_code == 401, url
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"{REGISTRY_URL}/v2/", verify=certifi.where(), timeout=10)


def test_authenticated_docker_pull_returns_the_pushed_image(pushed_image, docker_config):
    removed = run("docker", "rmi", "--force", pushed_image.ref, env=docker_config)
    assert removed.returncode == 0, removed.stderr
    pulled = run("docker", "pull", pushed_image.ref, env=docker_config)
    assert pulled.returncode == 0, f"authenticated docker pull failed: {pulled.stderr.strip()}"
    inspected = run("docker", "image", "inspect", "--format", "{{.Id}}", pushed_image.ref, env=docker_config)
    assert inspected.stdout.strip() == pushed_image.image_id


def test_anonymous_pull_of_the_pushed_image_is_refused(pushed_image):
    manifest = registry_get(
        f"/v2/{pushed_image.repository}/manifests/{pushed_image.tag}",
        accept="application/vnd.docker.distribution.manifest.v2+json",
    )
    assert manifest.status_code == 401, f"anonymous manifest GET answered {manifest.status_code}"
    authenticated = registry_get(
        f"/v2/{pushed_image.repository}/manifests/{pushed_image.tag}",
        auth=(REGISTRY_USER, registry_password()),
        accept="application/vnd.docker.distribution.manifest.v2+json",
    )
    assert authenticated.status_code == 200, "the same manifest must be served with credentials"


def test_anonymous_docker_pull_is_refused(pushed_image, docker_config, tmp_path):
    run("docker", "rmi", "--force", pushed_image.ref, env=docker_config)
    anonymous = dict(os.environ, DOCKER_CONFIG=str(tmp_path))
    pulled = run("docker", "pull", pushed_image.ref, env=anonymous)
    # Docker retries a refused loopback registry over plain HTTP (127.0.0.0/8 is "insecure" by default),
    # so its last word may be the TLS port resetting that attempt rather than the 401.
    assert pulled.returncode != 0, "an anonymous docker pull succeeded"
    inspected = run("docker", "image", "inspect", pushed_image.ref, env=docker_config)
    assert inspected.returncode != 0, "the image is in Docker after an anonymous pull"


def test_containerd_pulls_with_credentials_through_its_hosts_toml(pushed_image):
    namespace = f"e2e-{uuid.uuid4().hex[:8]}"
    ctr = [ctr_binary(), f"--address={CONTAINERD_SOCKET}", f"--namespace={namespace}"]
    try:
        anonymous = run(*ctr, "images", "pull", f"--hosts-dir={CONTAINERD_HOSTS_DIR}", pushed_image.ref)
        assert anonymous.returncode != 0, "an anonymous containerd pull succeeded"
        refusals = ("401", "unauthorized", "no basic auth credentials")
        assert any(word in anonymous.stderr.lower() for word in refusals), anonymous.stderr
        pulled = run(
            *ctr,
            "images",
            "pull",
            f"--hosts-dir={CONTAINERD_HOSTS_DIR}",
            f"--user={REGISTRY_USER}:{registry_password()}",
            pushed_image.ref,
        )
        # The message never echoes the command line: it holds the password.
        assert pulled.returncode == 0, f"containerd pull with credentials failed: {pulled.stderr.strip()}"
        listed = run(*ctr, "images", "list", "--quiet")
        assert pushed_image.ref in listed.stdout.split()
    finally:
        run(*ctr, "images", "remove", pushed_image.ref)
        run(ctr_binary(), f"--address={CONTAINERD_SOCKET}", "namespaces", "remove", namespace)
