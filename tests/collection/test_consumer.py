"""A user with only the built tarball and the `ansible` package: install it into an empty collections
path and, from a directory outside this repository with an inventory of their own (environment `qa`) and no
ansible.cfg, render and deploy the service by the playbooks' full names, with a prebuilt image. Needs the
cluster from `make up` (the registry holds the image the prod Deployment runs)."""

from __future__ import annotations

import json
import os
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / ".venv" / "bin"
KUBECONFIG = "/etc/kubernetes/admin.conf"
CA = "/etc/cloudnative/tls/ca.crt"
ENV, NAMESPACE = "qa", "cloudnative-qa"
INVENTORY = {
    "all": {
        "children": {"httpserver": {"children": {ENV: {"hosts": {"localhost": None}}}}},
        "vars": {
            "ansible_connection": "local",
            "ansible_python_interpreter": "{{ ansible_playbook_python }}",
        },
    }
}
GROUP_VARS = {
    "httpserver_env": ENV,
    "httpserver_namespace": NAMESPACE,
    "httpserver_drain_seconds": 2.0,
    "httpserver_shutdown_timeout_seconds": 5.0,
    "deploy_hpa_min_replicas": 1,
    "deploy_hpa_max_replicas": 2,
    # qa is not one of the environments cluster.yml gave a deployer identity: deploy as the cluster's admin,
    # as a user of a cluster this collection did not make would with their own kubeconfig.
    "cloudnative_deploy_kubeconfig": KUBECONFIG,
}


@dataclass(frozen=True)
class Consumer:
    directory: Path
    tarball: Path
    env: dict[str, str]

    def playbook(self, name: str, *extra: str) -> subprocess.CompletedProcess:
        cmd = [str(BIN / "ansible-playbook"), f"cloudnative.httpserver.{name}", "-i", "inventory", *extra]
        return subprocess.run(
            cmd, cwd=self.directory, env=self.env, capture_output=True, text=True, timeout=600
        )


def kubectl(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["kubectl", "--kubeconfig", KUBECONFIG, *args], capture_output=True, text=True, timeout=120
    )


def remove_environment() -> None:
    kubectl("delete", "namespace", NAMESPACE, "--ignore-not-found", "--wait=true", "--timeout=90s")
    for suffix in ("crt", "key", "spec-sha256"):
        Path(f"/etc/cloudnative/tls/{ENV}.{suffix}").unlink(missing_ok=True)


@pytest.fixture(scope="module")
def consumer(tmp_path_factory: pytest.TempPathFactory) -> Consumer:
    home = tmp_path_factory.mktemp("consumer")
    build = subprocess.run(
        [str(BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(home), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert build.returncode == 0, build.stdout + build.stderr
    (tarball,) = home.glob("cloudnative-httpserver-*.tar.gz")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    # Nothing but the installed tarball (and the `ansible` package's collections) on the path.
    install = subprocess.run(
        [
            str(BIN / "ansible-galaxy"),
            "collection",
            "install",
            "--offline",
            str(tarball),
            "-p",
            "collections",
        ],
        cwd=home,
        env={**env, "ANSIBLE_COLLECTIONS_PATH": str(home / "collections")},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    (home / "inventory/group_vars").mkdir(parents=True)
    (home / "inventory/hosts.yml").write_text(yaml.safe_dump(INVENTORY))
    (home / f"inventory/group_vars/{ENV}.yml").write_text(yaml.safe_dump(GROUP_VARS))
    assert not (home / "ansible.cfg").exists()
    remove_environment()
    yield Consumer(home, tarball, {**env, "ANSIBLE_COLLECTIONS_PATH": str(home / "collections")})
    remove_environment()


@pytest.fixture(scope="module")
def prebuilt_image() -> str:
    proc = kubectl("get", "deployment", "-n", "cloudnative-prod", "httpserver", "-o", "json")
    assert proc.returncode == 0, f"the consumer test needs the cluster and prod from `make up`: {proc.stderr}"
    return json.loads(proc.stdout)["spec"]["template"]["spec"]["containers"][0]["image"]


def test_the_tarball_holds_the_collection_and_nothing_of_the_repository(consumer: Consumer):
    with tarfile.open(consumer.tarball) as tar:
        top = {name.split("/")[0] for name in tar.getnames()}
        names = set(tar.getnames())
        manifest = json.loads(tar.extractfile("MANIFEST.json").read())["collection_info"]
    assert {"roles", "playbooks", "plugins", "meta", "MANIFEST.json", "README.md"} <= top, top
    assert not top & {"app", "tests", "bench", "molecule", "scripts", "Makefile", "Dockerfile", ".git"}, top
    roles = {n.split("/")[1] for n in names if n.startswith("roles/") and n.count("/") >= 2}
    assert all(f"roles/{r}/README.md" in names for r in roles), roles
    assert set(manifest["dependencies"]) == {
        "kubernetes.core",
        "community.crypto",
        "community.docker",
        "community.general",
    }


def test_render_writes_exactly_what_a_deploy_applies(consumer: Consumer, prebuilt_image: str):
    out = consumer.directory / "out"
    proc = consumer.playbook("render", "-e", f"render_dir={out}", "-e", f"httpserver_image={prebuilt_image}")
    assert proc.returncode == 0, proc.stdout[-4000:]
    deployment = yaml.safe_load((out / "deployment.yaml").read_text())
    assert deployment["metadata"]["namespace"] == NAMESPACE
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == prebuilt_image
    assert "replicas" not in deployment["spec"], "the HPA owns the count"
    config = yaml.safe_load(yaml.safe_load((out / "configmap.yaml").read_text())["data"]["config.yaml"])
    assert (config["env"], config["log_level"]) == (ENV, "INFO")


def test_a_deploy_without_image_or_build_context_fails_naming_both(consumer: Consumer):
    proc = consumer.playbook("site")
    assert proc.returncode != 0, proc.stdout[-4000:]
    assert "holds no Dockerfile" in proc.stdout and "httpserver_image" in proc.stdout, proc.stdout[-4000:]
    assert kubectl("get", "namespace", NAMESPACE).returncode != 0, "the failed run created the namespace"


def test_a_deploy_to_an_environment_without_a_deployer_identity_fails_naming_what_to_do(
    consumer: Consumer, prebuilt_image: str
):
    missing = consumer.directory / "no-such-deployer.conf"
    proc = consumer.playbook(
        "site", "-e", f"httpserver_image={prebuilt_image}", "-e", f"cloudnative_deploy_kubeconfig={missing}"
    )
    assert proc.returncode != 0, proc.stdout[-4000:]
    assert f"No kubeconfig to deploy {ENV} with at {missing}" in proc.stdout, proc.stdout[-4000:]
    assert "cloudnative_environments" in proc.stdout
    assert kubectl("get", "namespace", NAMESPACE).returncode != 0, "the failed run created the namespace"


def test_site_deploys_the_prebuilt_image_and_it_answers_over_https(consumer: Consumer, prebuilt_image: str):
    proc = consumer.playbook("site", "-e", f"httpserver_image={prebuilt_image}")
    assert proc.returncode == 0, proc.stdout[-4000:]
    answer = requests.get(f"https://cloudnative/{ENV}/fibo?n=10", verify=CA, timeout=10)
    assert (answer.status_code, answer.json()) == (200, {"result": 55})
    running = kubectl("get", "deployment", "-n", NAMESPACE, "httpserver", "-o", "json")
    assert json.loads(running.stdout)["spec"]["template"]["spec"]["containers"][0]["image"] == prebuilt_image
