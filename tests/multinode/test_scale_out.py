"""Scale out and in by inventory: a worker added to the inventory joins on a rerun of cluster.yml while every
other host reports changed=0; remove-node.yml drains and deletes it, and cluster.yml on the hosts left changes
nothing.

The new worker is one more test host (a container started by test_hosts/nodes.py --only), named in a copy of
inventories/multinode beside the same group_vars, as a user would add a server to the inventory.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import INVENTORY, REPO_ROOT, VENV_BIN, Cluster, Host, run_playbook, wait_for

NEW_WORKER = Host("mn-w2", "172.28.0.22")
RECAP = re.compile(r"^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.MULTILINE)


def recap(run: subprocess.CompletedProcess[str]) -> dict[str, dict[str, int]]:
    """Each host's counts from the PLAY RECAP, failing with the end of the output if the run failed."""
    assert run.returncode == 0, (
        f"ansible-playbook failed ({run.returncode}):\n{run.stdout[-4000:]}{run.stderr[-2000:]}"
    )
    names = ("ok", "changed", "unreachable", "failed")
    return {m[0]: dict(zip(names, map(int, m[1:]), strict=True)) for m in RECAP.findall(run.stdout)}


def inventory_with(tmp_path: Path, worker: Host) -> Path:
    """inventories/multinode with one more host in kube_node, its group_vars linked beside it."""
    hosts = yaml.safe_load((INVENTORY / "hosts.yml").read_text())
    kube_node = hosts["all"]["children"]["k8s_cluster"]["children"]["kube_node"]["hosts"]
    kube_node[worker.name] = {"ansible_host": worker.address}
    directory = tmp_path / "inventory"
    directory.mkdir()
    (directory / "group_vars").symlink_to(INVENTORY / "group_vars")
    (directory / "hosts.yml").write_text(yaml.safe_dump(hosts, sort_keys=False))
    return directory


def nodes(action: str, inventory: Path, host: Host) -> None:
    subprocess.run(
        [str(VENV_BIN / "python"), "test_hosts/nodes.py", action, str(inventory), "--only", host.name],
        cwd=REPO_ROOT, check=True, timeout=180,
    )  # fmt: skip


def node_ready(cluster: Cluster, name: str) -> bool:
    jsonpath = "{.status.conditions[?(@.type=='Ready')].status}"
    answer = cluster.kubectl(cluster.control_plane[0], f'get node {name} -o jsonpath="{jsonpath}"')
    return answer.stdout == "True"


@pytest.mark.timeout(1500, func_only=True)
def test_a_worker_added_by_inventory_joins_and_the_others_change_nothing(app: Cluster, tmp_path: Path):
    if NEW_WORKER.name in {h.name for h in app.nodes}:
        pytest.fail(f"{NEW_WORKER.name} is already in inventories/multinode; this test adds it itself")
    inventory = inventory_with(tmp_path, NEW_WORKER)
    nodes("up", inventory / "hosts.yml", NEW_WORKER)
    try:
        counts = recap(run_playbook("cluster", inventory, timeout=900))
        others = {name: c["changed"] for name, c in counts.items() if name in {h.name for h in app.nodes}}
        assert set(others) == {h.name for h in app.nodes}, f"hosts missing from the recap: {counts}"
        assert all(changed == 0 for changed in others.values()), f"scale out changed other hosts: {others}"
        assert counts[NEW_WORKER.name]["changed"] > 0, f"{NEW_WORKER.name} was not set up: {counts}"
        assert wait_for(lambda: node_ready(app, NEW_WORKER.name), 120, interval=2) is not None, (
            f"{NEW_WORKER.name} not Ready 120 s after cluster.yml"
        )
        status, body = app.app_get(app.ingress_for([]))
        assert status == 200, f"the app answered {status} {body!r} after the scale out"
    finally:
        removed = run_playbook("remove-node", inventory, "-e", f"remove_node={NEW_WORKER.name}", timeout=600)
        nodes("down", inventory / "hosts.yml", NEW_WORKER)
    recap(removed)
    assert app.kubectl(app.control_plane[0], f"get node {NEW_WORKER.name}").returncode != 0, (
        f"the Node {NEW_WORKER.name} is still in the cluster after remove-node.yml"
    )
    left = recap(run_playbook("cluster", INVENTORY, timeout=900))
    assert all(c["changed"] == 0 for c in left.values()), f"cluster.yml on the hosts left changed: {left}"
