"""checkov, the infrastructure-as-code scanner, on the rendered manifests of every environment: no failed
check. The checks skipped are listed, each with its reason, in .checkov.yaml (and nowhere else)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml
from rendering import ENVS, ROOT

CHECKOV_VERSION = "3.3.30"
CACHE = Path(os.environ.get("CLOUDNATIVE_CACHE_DIR", Path.home() / ".cache/cloudnative-httpserver"))
CHECKOV = CACHE / f"venv-checkov-{CHECKOV_VERSION}/bin/checkov"
CONFIG = ROOT / ".checkov.yaml"


def checkov(directory: Path, *options: str) -> dict:
    if not (CHECKOV.parents[1] / ".complete").is_file():
        pytest.fail(f"{CHECKOV} is missing: run scripts/install-test-packages.sh", pytrace=False)
    proc = subprocess.run(
        [str(CHECKOV), *options, "--skip-download", "--output", "json", "-d", str(directory)],
        # Not the repository's root: checkov would read its .checkov.yaml unasked.
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return json.loads(proc.stdout)


def failed_checks(report: dict) -> list[tuple[str, str, str]]:
    return [(c["check_id"], c["resource"], c["check_name"]) for c in report["results"]["failed_checks"]]


@pytest.mark.parametrize("env", ENVS)
def test_checkov_finds_nothing_in_the_rendered_manifests(rendered, env):
    report = checkov(rendered[env].directory, "--config-file", str(CONFIG))
    assert not failed_checks(report), f"{env}: checkov failed {failed_checks(report)}"
    assert report["summary"]["passed"] >= 50, report["summary"]


@pytest.mark.parametrize("env", ENVS)
def test_every_skipped_check_is_one_checkov_would_fail(rendered, env):
    """No stale skip: without .checkov.yaml, checkov fails exactly the checks it skips."""
    report = checkov(rendered[env].directory, "--framework", "kubernetes")
    skipped = set(yaml.safe_load(CONFIG.read_text())["skip-check"])
    assert {c[0] for c in failed_checks(report)} == skipped, failed_checks(report)
