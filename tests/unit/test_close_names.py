"""The inventory check's typo finder: a small edit away from a known name fails, anything else passes."""

import importlib.util
from pathlib import Path

import pytest

_PATH = Path(__file__).parents[2] / "plugins/filter/close_names.py"
_SPEC = importlib.util.spec_from_file_location("close_names", _PATH)
assert _SPEC and _SPEC.loader
close_names_module = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(close_names_module)
close_names = close_names_module.close_names
edit_distance = close_names_module.edit_distance

KNOWN = ["tls_dir", "config_env", "httpserver_env", "deploy_env", "image_tag", "deploy_hpa_max_replicas"]


@pytest.mark.parametrize(
    ("a", "b", "distance"),
    [("kitten", "sitting", 3), ("ab", "ba", 1), ("deploy_replcias", "deploy_replicas", 1), ("", "abc", 3)],
)
def test_edit_distance_counts_a_swap_of_neighbours_as_one(a, b, distance):
    assert edit_distance(a, b) == distance == edit_distance(b, a)


@pytest.mark.parametrize(
    ("typo", "meant"),
    [
        ("httpsever_env", "httpserver_env"),
        ("deploy_hpa_max_replcas", "deploy_hpa_max_replicas"),
        ("image_tags", "image_tag"),
        ("tls_dirs", "tls_dir"),
    ],
)
def test_a_name_one_or_two_edits_from_a_known_one_is_a_typo(typo, meant):
    assert close_names([typo], KNOWN) == {typo: meant}


@pytest.mark.parametrize(
    "foreign",
    ["tls_ciphers", "config_file", "deploy_user", "ansible_user", "image_name", "deploy_timeout"],
)
def test_another_collections_variable_is_left_alone(foreign):
    assert close_names([foreign], KNOWN) == {}


def test_known_and_private_names_are_never_typos():
    assert close_names(["tls_dir", "_tls_dirs"], KNOWN) == {}


def test_short_names_allow_one_edit_only():
    # "tls_dr" is one edit from tls_dir; "tl_dr" is two, too many for a name of 5 characters.
    assert close_names(["tls_dr", "tl_dr"], KNOWN) == {"tls_dr": "tls_dir"}
