"""The cluster.yml fast path covers every role the playbook runs: a change to a role left out of its
fingerprint would be skipped by the next run as "nothing to change"."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_the_fingerprint_covers_every_role_cluster_yml_runs():
    plays = yaml.safe_load((ROOT / "playbooks/cluster.yml").read_text())
    run = {
        (role["role"] if isinstance(role, dict) else role).rsplit(".", 1)[-1]
        for play in plays
        for role in play.get("roles", [])
    }
    for play in plays:
        for task in play.get("tasks", []) + play.get("pre_tasks", []):
            for key in ("ansible.builtin.import_role", "ansible.builtin.include_role"):
                if key in task:
                    run.add(task[key]["name"].rsplit(".", 1)[-1])
    spec = yaml.safe_load((ROOT / "playbooks/vars/cluster.yml").read_text())
    covered = set(spec["_cluster_roles"].split())
    assert run, "no role found in cluster.yml"
    assert run <= covered, f"roles cluster.yml runs that its fingerprint leaves out: {sorted(run - covered)}"
    prefixes = set(re.findall(r"[a-z_]+", spec["_cluster_var_names"].split("match", 1)[1]))
    missing = [r for r in run - {"cluster_settled"} if r not in prefixes]
    assert not missing, f"roles whose variables the fingerprint leaves out: {missing}"


def test_the_roles_read_only_the_inventory_groups_the_fingerprint_covers():
    """The fingerprint covers the control-plane and registry groups and the host's own groups, not the list of
    nodes: a worker joining leaves the other hosts' fingerprints, and so their fast path, as they were. A role
    that starts reading another group must add it to the fingerprint (playbooks/vars/cluster.yml)."""
    spec = (ROOT / "playbooks/vars/cluster.yml").read_text()
    covered = set(re.findall(r"groups\['([a-z_]+)'\]", spec))
    read = {
        (str(path.relative_to(ROOT)), group)
        for path in (ROOT / "roles").rglob("*")
        if path.is_file() and path.suffix in {".yml", ".j2"}
        for group in re.findall(r"groups\['([a-z_]+)'\]", path.read_text())
    }
    uncovered = sorted((path, group) for path, group in read if group not in covered)
    assert not uncovered, f"groups the roles read that the fingerprint leaves out: {uncovered}"
