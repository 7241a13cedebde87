"""The inventory check's parts: which names the roles read, which options are checked, what fails and how."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
# The action imports the typo finder by the collection's name, as Ansible loads it; bootstrap-python.sh links
# the checkout in as collections/ansible_collections/cloudnative/httpserver.
if not (ROOT / "collections/ansible_collections/cloudnative/httpserver/plugins").is_dir():
    pytest.fail(
        "collections/ansible_collections/cloudnative/httpserver is missing: run make venv", pytrace=False
    )
sys.path.insert(0, str(ROOT / "collections"))
check = importlib.import_module("ansible_collections.cloudnative.httpserver.plugins.action.check_inventory")

ROLES = ["image", "tls", "config", "deploy"]
SHARED = {
    "httpserver_env": "prod",
    "httpserver_namespace": "prod",
    "httpserver_drain_seconds": 5,
    "httpserver_shutdown_timeout_seconds": "20",
}


@pytest.fixture(scope="module")
def specs() -> dict:
    return check.read_specs(ROOT / "roles", ROLES)


def test_known_names_hold_every_entry_points_options_and_the_extra_names(specs: dict):
    known = check.known_names(specs, ["httpserver_env"])
    assert {
        "deploy_hpa_max_replicas",
        "config_log_level",
        "tls_cert_name",
        "image_tag",
        "httpserver_env",
    } <= known
    # An option only a non-main entry point declares is known too.
    other_entry_points = {
        name
        for entry_points in specs.values()
        for entry, spec in entry_points.items()
        if entry != "main"
        for name in spec.get("options") or {}
    }
    assert other_entry_points <= known


def test_main_options_are_the_set_ones_and_none_is_required(specs: dict):
    options = check.main_options(specs, ["config_log_level", "deploy_namespace", "ansible_user"])
    assert sorted(options) == ["config_log_level", "deploy_namespace"]
    assert all(option["required"] is False for option in options.values())
    assert specs["deploy"]["main"]["options"]["deploy_namespace"].get("required") is True, (
        "the spec is untouched"
    )


def test_a_missing_role_names_its_spec_file(tmp_path: Path):
    with pytest.raises(check.AnsibleActionFail, match=r"role nosuch at .*nosuch/meta/argument_specs.yml"):
        check.read_specs(tmp_path, ["nosuch"])


@pytest.mark.parametrize(
    ("change", "ok"),
    [
        ({}, True),
        ({"httpserver_env": "staging"}, False),  # not one of the host's groups
        ({"httpserver_env": "Prod_1"}, False),
        ({"httpserver_namespace": "-prod"}, False),
        ({"httpserver_drain_seconds": -1}, False),
        ({"httpserver_shutdown_timeout_seconds": "soon"}, False),
        ({"httpserver_drain_seconds": None}, False),
    ],
)
def test_shared_settings(change: dict, ok: bool):
    settings = {name: value for name, value in {**SHARED, **change}.items() if value is not None}
    assert check.shared_settings_ok(settings, ["httpserver", "prod"]) is ok


def test_nothing_wrong_is_no_problem():
    assert check.problems(["deploy_namespace", "tls_ciphers"], {}, {"deploy_namespace"}, True, []) == []


def test_every_problem_is_listed_each_naming_what_to_do():
    found = check.problems(
        ["deploy_replicas", "deploy_hpa_max_replcas", "tls_ciphers"],
        {"deploy_replicas": "set deploy_hpa_min_replicas instead."},
        {"deploy_hpa_max_replicas", "deploy_hpa_min_replicas"},
        False,
        ["value of config_log_level must be one of: DEBUG, INFO, got: LOUD"],
    )
    assert len(found) == 4, found
    removed, typos, shared, types = found
    assert "deploy_replicas: set deploy_hpa_min_replicas instead." in removed
    assert "unknown variable deploy_hpa_max_replcas in the inventory or extra vars: did you mean" in typos
    assert "deploy_hpa_max_replicas?" in typos and "tls_ciphers" not in typos
    assert shared.startswith("Set httpserver_env (a DNS label")
    assert types.endswith("got: LOUD")
