"""cluster.yml on a cluster that already runs: one check per host instead of the whole run, unless something
is not as it should be, and then the whole run puts it right."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from conftest import REPO_ROOT, wait_for

ANSIBLE_PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"
SCHEDULER = "cloudnative-kube-scheduler"


def cluster_yml(*extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(ANSIBLE_PLAYBOOK), "playbooks/cluster.yml", "-i", "inventories/dev", *extra],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )


def changed(proc: subprocess.CompletedProcess) -> int:
    match = re.search(r"localhost\s+:\s+ok=\d+\s+changed=(\d+)", proc.stdout)
    assert match, f"no PLAY RECAP in the output:\n{proc.stdout[-3000:]}"
    return int(match.group(1))


def program_state(name: str) -> str:
    out = subprocess.run(["supervisorctl", "status", name], capture_output=True, text=True, timeout=30).stdout
    return out.split()[1] if len(out.split()) > 1 else out.strip()


def test_a_rerun_on_the_running_cluster_checks_once_and_changes_nothing(core_v1):
    proc = cluster_yml()
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert "Nothing to change: every daemon runs" in proc.stdout, proc.stdout[-4000:]
    assert changed(proc) == 0, proc.stdout[-4000:]
    assert "TASK [kube_binaries" not in proc.stdout, "the fast path still ran the roles"


def test_a_stopped_daemon_makes_the_rerun_a_full_one_that_starts_it_again(core_v1):
    stop = subprocess.run(["supervisorctl", "stop", SCHEDULER], capture_output=True, text=True, timeout=60)
    assert stop.returncode == 0, stop.stdout + stop.stderr
    try:
        proc = cluster_yml()
        assert proc.returncode == 0, proc.stdout[-4000:]
        assert f"Full run: program {SCHEDULER} is STOPPED" in proc.stdout, proc.stdout[-4000:]
        assert program_state(SCHEDULER) == "RUNNING"
    finally:
        subprocess.run(["supervisorctl", "start", SCHEDULER], capture_output=True, timeout=60)
        wait_for(lambda: program_state(SCHEDULER) == "RUNNING", 60, what=f"{SCHEDULER} to run again")
