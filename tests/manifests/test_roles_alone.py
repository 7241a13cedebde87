"""A role used on its own, outside site.yml and render.yml, as a collection user would."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml
from rendering import ANSIBLE_PLAYBOOK, ROOT

PLAY = """
- name: Render the config role alone
  hosts: localhost
  gather_facts: false
  roles:
    - role: cloudnative.httpserver.config
      vars:
        config_env: staging
        config_namespace: cloudnative-staging
        config_render_dir: {out}
"""


def test_the_config_role_renders_into_a_directory_it_creates(tmp_path: Path):
    out = tmp_path / "not/there/yet"
    playbook = tmp_path / "play.yml"
    playbook.write_text(PLAY.format(out=out))
    proc = subprocess.run(
        [str(ANSIBLE_PLAYBOOK), str(playbook)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
    configmap = yaml.safe_load((out / "configmap.yaml").read_text())
    assert configmap["metadata"]["namespace"] == "cloudnative-staging"
    assert yaml.safe_load(configmap["data"]["config.yaml"])["env"] == "staging"
