"""Shared helpers of the multi-node tests: they run against the test hosts of inventories/multinode
(``make up-multinode``), never against the machine's own cluster.

Every command goes over SSH to a test host, as it would to a real server, or to the Docker Engine for the
host's container itself (stop, kill, start). Every wait is bounded.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
# The load tests' open-loop client, as bench/ uses it.
sys.path.insert(0, str(REPO_ROOT / "tests/load"))
from loadgen import LoadGenerator, PinnedHTTPSConnection, Result, make_tls_context  # noqa: E402

INVENTORY = REPO_ROOT / "inventories/multinode"
VENV_BIN = REPO_ROOT / ".venv/bin"
BIN = "/opt/cloudnative/bin"
PKI = "/etc/kubernetes/pki"
KUBECTL = f"{BIN}/kubectl --kubeconfig /etc/kubernetes/admin.conf --request-timeout=10s"
# The prod environment site.yml deploys from the controller (inventories/multinode, group prod).
APP_NAMESPACE = "cloudnative-prod"
APP_SELECTOR = "app.kubernetes.io/name=httpserver"
APP_HOST = "cloudnative"
APP_PATH = "/prod/fibo?n=10"
TLS_CA = Path.home() / ".config/cloudnative-httpserver/multinode-pki/tls/ca.crt"


@dataclass(frozen=True)
class Host:
    name: str
    address: str


@dataclass(frozen=True)
class Cluster:
    control_plane: list[Host]
    nodes: list[Host]
    key: Path
    ingress: list[Host]

    def ssh_argv(self, host: Host, command: str) -> list[str]:
        return [
            "ssh", "-q", "-i", str(self.key), "-o", "StrictHostKeyChecking=no",
            "-o", "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=3", "-o", "BatchMode=yes",
            f"root@{host.address}", command,
        ]  # fmt: skip

    def ssh(self, host: Host, command: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Run a shell command on a test host over SSH as root."""
        return subprocess.run(
            self.ssh_argv(host, command), capture_output=True, text=True, timeout=timeout, check=False
        )

    def etcdctl(self, host: Host, *args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
        endpoints = ",".join(f"https://{h.address}:2379" for h in self.control_plane)
        return self.ssh(
            host,
            f"{BIN}/etcdctl --endpoints={endpoints} --cacert={PKI}/etcd-ca.crt"
            f" --cert={PKI}/apiserver-etcd-client.crt --key={PKI}/apiserver-etcd-client.key"
            f" --command-timeout=3s {' '.join(args)}",
            timeout=timeout,
        )

    def kubectl(self, host: Host, args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
        """kubectl on a control-plane host with its admin.conf, through its local API load balancer."""
        return self.ssh(host, f"{KUBECTL} {args}", timeout=timeout)

    def workers(self) -> list[Host]:
        return [h for h in self.nodes if h not in self.control_plane]

    def app_pod_nodes(self, via: Host) -> dict[str, str]:
        """Ready pods of the app -> the node each runs on."""
        got = self.kubectl(via, f"get pods -n {APP_NAMESPACE} -l {APP_SELECTOR} -o json")
        assert got.returncode == 0, got.stderr
        ready = {}
        for pod in json.loads(got.stdout)["items"]:
            conditions = pod["status"].get("conditions", [])
            if pod["metadata"].get("deletionTimestamp") is None and any(
                c["type"] == "Ready" and c["status"] == "True" for c in conditions
            ):
                ready[pod["metadata"]["name"]] = pod["spec"]["nodeName"]
        return ready

    def ingress_for(self, avoid: list[Host]) -> Host:
        """A host of group kube_ingress (Traefik on its host ports) that is not one of ``avoid``."""
        choices = [h for h in self.ingress if h not in avoid]
        assert choices, f"no ingress host but {avoid}: add one to group kube_ingress"
        return choices[0]

    def app_get(self, via: Host) -> tuple[int, str]:
        """One HTTPS GET of the app through the ingress on ``via``'s address: (status, body)."""
        conn = PinnedHTTPSConnection(
            APP_HOST, 443, via.address, timeout=10, context=make_tls_context(str(TLS_CA))
        )
        try:
            conn.request("GET", APP_PATH, headers={"Host": APP_HOST})
            response = conn.getresponse()
            return response.status, response.read().decode()
        finally:
            conn.close()

    def load(self, via: Host, rate: float, duration: float) -> LoadGenerator:
        """Open-loop HTTPS load to the app through the ingress on ``via``'s address (bounded by duration)."""
        return LoadGenerator(
            f"https://{APP_HOST}{APP_PATH}", rate=rate, duration=duration,
            connect=f"{via.address}:443", cafile=str(TLS_CA), timeout=10, workers=64,
        )  # fmt: skip


def wait_for(predicate: Callable[[], bool], timeout: float, interval: float = 1.0) -> float | None:
    """Seconds until predicate() held, or None if it did not within timeout."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if predicate():
            return time.monotonic() - start
        time.sleep(interval)
    return None


def run_playbook(name: str, inventory: Path, *extra: str, timeout: float) -> subprocess.CompletedProcess[str]:
    """ansible-playbook playbooks/<name>.yml with the project's own Ansible settings, whoever runs the test
    (molecule sets ANSIBLE_* of its own)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "MOLECULE_"))}
    env["ANSIBLE_CONFIG"] = str(REPO_ROOT / "ansible.cfg")
    return subprocess.run(
        [str(VENV_BIN / "ansible-playbook"), "-i", str(inventory), f"playbooks/{name}.yml", *extra],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip


@pytest.fixture(scope="session")
def cluster() -> Cluster:
    listing = subprocess.run(
        [str(VENV_BIN / "ansible-inventory"), "-i", str(INVENTORY), "--list"],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    data = json.loads(listing.stdout)
    hostvars = data["_meta"]["hostvars"]

    def hosts(group: str) -> list[Host]:
        return [Host(name, hostvars[name]["ansible_host"]) for name in data[group]["hosts"]]

    key = Path(hostvars[data["kube_node"]["hosts"][0]]["ansible_ssh_private_key_file"]).expanduser()
    ingress = hosts("kube_ingress") if "kube_ingress" in data else []
    result = Cluster(hosts("kube_control_plane"), hosts("kube_node"), key, ingress)
    down = [h.name for h in result.nodes if result.ssh(h, "true", timeout=10).returncode != 0]
    if down:
        pytest.fail(f"test hosts not reachable over SSH: {down}; run make up-multinode first")
    return result


@pytest.fixture(scope="session")
def app(cluster: Cluster) -> Cluster:
    """The prod environment deployed by site.yml -i inventories/multinode, answering through the ingress."""
    if not TLS_CA.exists():
        pytest.fail(f"no {TLS_CA}: deploy the app first (playbooks/site.yml -i inventories/multinode)")
    via = cluster.ingress_for([])
    status, body = cluster.app_get(via)
    if status != 200:
        pytest.fail(f"the app answered {status} {body!r} through the ingress on {via.name}")
    return cluster


def slow_window(result: Result, threshold_ms: float = 500) -> str:
    """The seconds of a load run whose p99 latency was above threshold_ms: how long a fault slowed the app."""
    slow = [b["t"] for b in result.timeseries() if (b["p99_ms"] or 0) > threshold_ms]
    if not slow:
        return f"no second with p99 above {threshold_ms:.0f} ms"
    return f"{len(slow)} s with p99 above {threshold_ms:.0f} ms, from t={slow[0]:.0f} s to t={slow[-1]:.0f} s"
