"""The inventory check that site.yml and render.yml run first: foreign variables pass, likely typos, removed
names and a bad environment name fail before anything is written, each naming the problem."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from rendering import ANSIBLE_PLAYBOOK, FAKE_REGISTRY_PASSWORD, ROOT

# What a shared group_vars/all may hold for other collections and roles on the same hosts.
FOREIGN = """---
tls_ciphers: ECDHE+AESGCM
config_file: /etc/other/config.ini
deploy_user: deployer
image_name: other/app
httpserver_port: 8081
"""


@pytest.fixture
def inventory(tmp_path: Path) -> Path:
    copy = tmp_path / "inventory"
    shutil.copytree(ROOT / "inventories/staging", copy)
    (copy / "group_vars/all").mkdir()
    (copy / "group_vars/all/shared.yml").write_text(FOREIGN)
    return copy


def render(inventory: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    cmd = [
        str(ANSIBLE_PLAYBOOK),
        "playbooks/render.yml",
        "-i",
        str(inventory),
        "-e",
        f"render_dir={out}",
        "-e",
        f"cloudnative_registry_password={FAKE_REGISTRY_PASSWORD}",
        "-e",
        "httpserver_image_tag=1.0.0-test",
        *extra,
    ]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_variables_of_other_collections_pass(inventory: Path, tmp_path: Path):
    proc = render(inventory, tmp_path / "out")
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert (tmp_path / "out/deployment.yaml").is_file()


def test_a_typo_fails_naming_it_and_the_name_it_resembles(inventory: Path, tmp_path: Path):
    (inventory / "group_vars/all/typo.yml").write_text("---\nconfig_log_levl: DEBUG\n")
    proc = render(inventory, tmp_path / "out")
    assert proc.returncode != 0, proc.stdout[-4000:]
    assert "unknown variable config_log_levl" in proc.stdout, proc.stdout[-4000:]
    assert "did you mean config_log_level?" in proc.stdout, proc.stdout[-4000:]
    assert not (tmp_path / "out").exists()


def test_a_removed_variable_fails_saying_what_replaces_it(inventory: Path, tmp_path: Path):
    proc = render(inventory, tmp_path / "out", "-e", "deploy_replicas=2")
    assert proc.returncode != 0, proc.stdout[-4000:]
    assert "deploy_replicas: removed in 0.2.0" in proc.stdout, proc.stdout[-4000:]
    assert "deploy_hpa_min_replicas" in proc.stdout, proc.stdout[-4000:]


def test_an_environment_name_that_is_no_dns_label_fails(inventory: Path, tmp_path: Path):
    proc = render(inventory, tmp_path / "out", "-e", "httpserver_env=Staging_1")
    assert proc.returncode != 0, proc.stdout[-4000:]
    assert "httpserver_env (a DNS label" in proc.stdout, proc.stdout[-4000:]


def test_wrong_types_and_choices_fail_beside_a_typo_in_one_message(inventory: Path, tmp_path: Path):
    (inventory / "group_vars/all/typo.yml").write_text("---\nconfig_log_levl: DEBUG\n")
    proc = render(
        inventory, tmp_path / "out", "-e", "deploy_hpa_max_replicas=many", "-e", "config_log_level=LOUD"
    )
    assert proc.returncode != 0, proc.stdout[-4000:]
    output = " ".join(proc.stdout.replace("''", "'").split())  # unwrapped, YAML quotes undone
    assert "did you mean config_log_level?" in output, output[-4000:]
    assert "'deploy_hpa_max_replicas' is of type str and we were unable to convert to int" in output, output[
        -4000:
    ]
    assert "config_log_level must be one of: DEBUG, INFO, WARNING, ERROR, got: LOUD" in output, output[-4000:]
    assert not (tmp_path / "out").exists()


def test_a_prebuilt_image_named_by_digest_is_rendered_pinned(inventory: Path, tmp_path: Path):
    image = "registry.cloudnative:5000/cloudnative/httpserver:1.0.0-abc1234@sha256:" + "ab" * 32
    proc = render(inventory, tmp_path / "out", "-e", f"httpserver_image={image}")
    assert proc.returncode == 0, proc.stdout[-4000:]
    deployment = yaml.safe_load((tmp_path / "out/deployment.yaml").read_text())
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == image
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert labels["app.kubernetes.io/version"] == "1.0.0-abc1234"
