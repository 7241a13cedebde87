"""Each role documents what it takes: a README in geerlingguy's order whose variable tables match the argument
specs, and an argument spec for every entry point a playbook uses (ansible-core validates a spec only when
`tasks_from` names the entry point exactly, without `.yml`)."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ROLES = sorted(p for p in (ROOT / "roles").iterdir() if p.is_dir())


def test_every_readme_has_the_sections_and_current_variable_tables():
    proc = subprocess.run(
        [sys.executable, "scripts/role-docs.py", "--check"], cwd=ROOT, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("role", ROLES, ids=lambda p: p.name)
def test_every_entry_point_has_its_task_file_and_every_default_a_spec(role: Path):
    specs = yaml.safe_load((role / "meta/argument_specs.yml").read_text())["argument_specs"]
    missing = [e for e in specs if not (role / "tasks" / f"{e}.yml").exists()]
    assert not missing, f"{role.name}: entry points without tasks/<name>.yml: {missing}"
    documented = {name for spec in specs.values() for name in (spec.get("options") or {})}
    defaults = yaml.safe_load((role / "defaults/main.yml").read_text()) or {}
    assert set(defaults) == documented, (
        f"{role.name}: defaults without a spec {sorted(set(defaults) - documented)}, "
        f"specs without a default {sorted(documented - set(defaults))}"
    )


def test_every_tasks_from_names_an_entry_point_with_a_spec():
    uses = []
    pattern = re.compile(r"name: (?:cloudnative\.httpserver\.)?(\w+)\n\s+tasks_from: (\S+)")
    files = [*ROOT.glob("playbooks/*.yml"), *ROOT.glob("roles/*/tasks/*.yml"), *ROOT.glob("molecule/*/*.yml")]
    for path in files:
        for role, entry in pattern.findall(path.read_text()):
            uses.append((path.relative_to(ROOT), role, entry))
    assert uses, "no tasks_from found: the pattern no longer matches the playbooks"
    wrong = []
    for path, role, entry in uses:
        specs = yaml.safe_load((ROOT / "roles" / role / "meta/argument_specs.yml").read_text())
        if entry not in specs["argument_specs"]:
            wrong.append(f"{path}: {role} tasks_from {entry}")
    assert not wrong, f"entry points without an argument spec (or named with .yml): {wrong}"
