"""Static checks the suite enforces: every playbook passes --syntax-check, ansible-lint (production
profile) is clean on the collection, and ruff is clean on the Python code."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from rendering import ROOT

BIN = ROOT / ".venv" / "bin"
PLAYBOOKS = sorted(
    p.relative_to(ROOT) for p in (ROOT / "playbooks").glob("*.yml") if not p.name.startswith("_")
)


def run(*cmd: str | Path, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run([str(c) for c in cmd], cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def test_there_are_playbooks_to_check():
    assert {"site.yml", "render.yml"} <= {p.name for p in PLAYBOOKS}


@pytest.mark.parametrize("playbook", PLAYBOOKS, ids=str)
@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_playbook_passes_syntax_check(playbook, env):
    proc = run(BIN / "ansible-playbook", "--syntax-check", "-i", f"inventories/{env}", playbook)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]


def test_ansible_lint_production_profile_is_clean():
    proc = run(BIN / "ansible-lint", "--profile", "production", "--nocolor", "-q")
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]


def test_ruff_is_clean_on_the_manifest_and_e2e_tests():
    proc = run(BIN / "ruff", "check", "tests/manifests", "tests/e2e")
    assert proc.returncode == 0, proc.stdout[-4000:]
    proc = run(BIN / "ruff", "format", "--check", "tests/manifests", "tests/e2e")
    assert proc.returncode == 0, proc.stdout[-4000:]
