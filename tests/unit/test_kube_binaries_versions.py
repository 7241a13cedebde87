"""The build script, the role's defaults and its argument specs agree on components and pinned versions."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
ROLE = ROOT / "roles" / "kube_binaries"
BUILD = ROOT / "roles" / "kube_binaries" / "files" / "build-from-goproxy" / "build.sh"

# build.sh component -> the role default holding its version
VERSION_VARS = {
    "etcd": "kube_binaries_etcd_version",
    "kube-apiserver": "kube_binaries_kubernetes_version",
    "kube-controller-manager": "kube_binaries_kubernetes_version",
    "kube-scheduler": "kube_binaries_kubernetes_version",
    "kubectl": "kube_binaries_kubernetes_version",
    "kubelet": "kube_binaries_kubernetes_version",
    "kube-proxy": "kube_binaries_kubernetes_version",
    "containerd": "kube_binaries_containerd_version",
    "crictl": "kube_binaries_crictl_version",
    "crane": "kube_binaries_crane_version",
    "coredns": "kube_binaries_coredns_version",
    "metrics-server": "kube_binaries_metrics_server_version",
    "traefik": "kube_binaries_traefik_version",
    "pause": "kube_binaries_pause_version",
    "flanneld": "kube_binaries_flannel_version",
    "flannel-cni": "kube_binaries_flannel_cni_version",
    "kube-router": "kube_binaries_kube_router_version",
}
MULTI_NODE_ONLY = {"flanneld", "flannel-cni"}


def _load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def _script_versions() -> dict[str, str]:
    out = subprocess.run(["bash", str(BUILD), "--list"], check=True, capture_output=True, text=True).stdout
    return dict(line.split(" ", 1) for line in out.splitlines())


def test_build_script_pins_the_role_default_versions() -> None:
    defaults = _load(ROLE / "defaults" / "main.yml")
    script = _script_versions()
    assert set(script) == set(VERSION_VARS), "build.sh --list and the role know different components"
    mismatched = {
        c: (v, defaults[VERSION_VARS[c]]) for c, v in script.items() if defaults[VERSION_VARS[c]] != v
    }
    assert not mismatched, f"versions.env and defaults/main.yml disagree (script, role): {mismatched}"


def test_every_component_is_in_the_catalog_defaults_and_choices() -> None:
    catalog = _load(ROLE / "vars" / "main.yml")["kube_binaries_catalog"]
    defaults = _load(ROLE / "defaults" / "main.yml")
    spec = _load(ROLE / "meta" / "argument_specs.yml")["argument_specs"]["main"]["options"]
    assert set(catalog) == set(VERSION_VARS)
    # The pod network of several hosts is built only when an inventory asks for it (not by default).
    single_node = [c for c in _script_versions() if c not in MULTI_NODE_ONLY]
    assert defaults["kube_binaries_components"] == single_node, "default build order differs"
    assert set(spec["kube_binaries_components"]["choices"]) == set(VERSION_VARS)
    for name, entry in catalog.items():
        assert entry["name"] == name
        assert entry["release"]["kind"] in {"file", "archive", "image"}


def test_argument_spec_defaults_match_role_defaults() -> None:
    defaults = _load(ROLE / "defaults" / "main.yml")
    options = _load(ROLE / "meta" / "argument_specs.yml")["argument_specs"]["main"]["options"]
    assert set(options) == set(defaults), "every default needs an argument spec and vice versa"
    differing = {
        k: (o["default"], defaults[k])
        for k, o in options.items()
        if "default" in o and o["default"] != defaults[k]
    }
    assert not differing, f"argument_specs defaults differ from defaults/main.yml: {differing}"


def test_unknown_component_is_refused() -> None:
    result = subprocess.run(["bash", str(BUILD), "no-such-thing", "v1"], capture_output=True, text=True)
    assert result.returncode != 0
    assert "unknown component: no-such-thing" in result.stderr


def test_components_of_different_modules_are_refused_in_one_call() -> None:
    result = subprocess.run(["bash", str(BUILD), "kubectl", "etcd"], capture_output=True, text=True)
    assert result.returncode == 2
    assert "one call builds one module at one version: etcd does not go with kubernetes" in result.stderr


def test_build_all_refuses_a_job_count_that_is_not_a_positive_number() -> None:
    result = subprocess.run(
        ["bash", str(BUILD.parent / "build-all.sh"), "--jobs", "0"], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert "--jobs wants a positive number, got: 0" in result.stderr


def test_conformance_components_are_built_only_on_request() -> None:
    out = subprocess.run(
        ["bash", str(BUILD), "--list-tests"], check=True, capture_output=True, text=True
    ).stdout
    tests = dict(line.split(" ", 1) for line in out.splitlines())
    assert set(tests) == {"e2e.test", "ginkgo", "agnhost", "nonewprivs", "sample-apiserver"}
    assert not set(tests) & set(_script_versions()), "build-all.sh would build the suite by default"
    kubernetes = _script_versions()["kube-apiserver"]
    assert tests["e2e.test"] == kubernetes, "e2e.test must be the cluster's Kubernetes version"
