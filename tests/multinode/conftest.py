"""Shared helpers of the multi-node tests: they run against the test hosts of inventories/multinode
(``make up-multinode``), never against the machine's own cluster.

Every command goes over SSH to a test host, as it would to a real server, or to the Docker Engine for the
host's container itself (stop, kill, start). Every wait is bounded.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
INVENTORY = REPO_ROOT / "inventories/multinode"
VENV_BIN = REPO_ROOT / ".venv/bin"
BIN = "/opt/cloudnative/bin"
PKI = "/etc/kubernetes/pki"
KUBECTL = f"{BIN}/kubectl --kubeconfig /etc/kubernetes/admin.conf --request-timeout=10s"


@dataclass(frozen=True)
class Host:
    name: str
    address: str


@dataclass(frozen=True)
class Cluster:
    control_plane: list[Host]
    nodes: list[Host]
    key: Path

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


def wait_for(predicate: Callable[[], bool], timeout: float, interval: float = 1.0) -> float | None:
    """Seconds until predicate() held, or None if it did not within timeout."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if predicate():
            return time.monotonic() - start
        time.sleep(interval)
    return None


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
    result = Cluster(hosts("kube_control_plane"), hosts("kube_node"), key)
    down = [h.name for h in result.nodes if result.ssh(h, "true", timeout=10).returncode != 0]
    if down:
        pytest.fail(f"test hosts not reachable over SSH: {down}; run make up-multinode first")
    return result
