"""Bad inventories fail in cluster.yml's first play, naming the problem, before anything changes.

The hosts named here do not exist (addresses on the test network that nothing answers, reached over SSH): if a
check let one through, the next play would find them unreachable, and the test would fail on the missing
message. Nothing reaches this machine's own cluster.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from conftest import run_playbook

NOWHERE = "172.28.0.25{}"  # addresses on the test hosts' network that no container holds


def inventory(tmp_path: Path, control_plane: dict, nodes: dict, extra_groups: dict | None = None) -> Path:
    hosts = {
        "all": {
            "children": {
                "k8s_cluster": {
                    "children": {
                        "kube_control_plane": {"hosts": control_plane},
                        "kube_node": {"hosts": nodes},
                    }
                },
                **(extra_groups or {}),
            },
            "vars": {"ansible_connection": "ssh", "ansible_user": "nobody", "ansible_ssh_timeout": 2},
        }
    }
    path = tmp_path / "hosts.yml"
    path.write_text(yaml.safe_dump(hosts))
    return path


def host(n: int) -> dict:
    return {"ansible_host": NOWHERE.format(n)}


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("even", "kube_control_plane must hold an odd number of hosts (1, 3, 5); it holds 2"),
        ("no_group", "Hosts in neither kube_control_plane nor kube_node: stray"),
        ("same_address", "Hosts share an address (ansible_host): 172.28.0.251"),
    ],
)
def test_a_bad_inventory_fails_first_naming_the_problem(tmp_path: Path, case: str, expected: str) -> None:
    if case == "even":
        path = inventory(tmp_path, {"cp1": host(1), "cp2": host(2)}, {"cp1": None, "cp2": None})
    elif case == "no_group":
        stray = {"ungrouped": {"hosts": {"stray": host(3)}}}
        path = inventory(tmp_path, {"cp1": host(1)}, {"cp1": None}, stray)
    else:
        path = inventory(tmp_path, {"cp1": host(1)}, {"cp1": None, "w1": host(1)})
    result = run_playbook("cluster", path, timeout=120)
    assert result.returncode != 0, result.stdout[-2000:]
    assert expected in result.stdout, result.stdout[-3000:]
    assert "PLAY [Check the inventory before anything changes]" in result.stdout
    assert "PLAY [Find out whether the cluster already runs exactly this]" not in result.stdout, (
        "the run went past the inventory checks"
    )
