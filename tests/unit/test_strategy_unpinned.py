"""The strategy ansible.cfg names (Mitogen's linear, unpinned) leaves the CPUs of what it starts to the
kernel."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK = """
- name: Report the CPUs a command may run on
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Ask the kernel
      ansible.builtin.command: python3 -c "import os; print(sorted(os.sched_getaffinity(0)))"
      register: cpus
      changed_when: false
    - name: Print them
      ansible.builtin.debug:
        msg: "CPUS={{ cpus.stdout }}"
"""


def cpus_under(tmp_path: Path, **env: str) -> list[int]:
    playbook = tmp_path / "cpus.yml"
    playbook.write_text(PLAYBOOK)
    run = subprocess.run(
        [
            str(Path(sys.executable).parent / "ansible-playbook"),
            "-i",
            "localhost,",
            "-c",
            "local",
            "-e",
            f"ansible_python_interpreter={sys.executable}",
            str(playbook),
        ],
        cwd=ROOT,
        env={**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), **env},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    line = next(line for line in run.stdout.splitlines() if "CPUS=" in line)
    return ast.literal_eval(line.split("CPUS=", 1)[1].strip().strip("'\""))


def test_commands_run_by_the_configured_strategy_may_use_every_cpu(tmp_path: Path):
    assert cpus_under(tmp_path) == sorted(os.sched_getaffinity(0))


def test_mitogens_own_linear_strategy_still_pins_them(tmp_path: Path):
    """Why the unpinned plugin exists: should Mitogen stop pinning, this fails and the plugin can go."""
    if len(os.sched_getaffinity(0)) < 2:
        raise AssertionError("needs at least 2 CPUs: Mitogen pins nothing on one")
    import ansible_mitogen

    stock = Path(ansible_mitogen.__file__).parent / "plugins" / "strategy"
    pinned = cpus_under(tmp_path, ANSIBLE_STRATEGY="mitogen_linear", ANSIBLE_STRATEGY_PLUGINS=str(stock))
    assert pinned != sorted(os.sched_getaffinity(0)), (
        f"Mitogen's mitogen_linear left {pinned} to its commands"
    )
