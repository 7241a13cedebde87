"""The rendered pod template passes the Pod Security "restricted" level, and the checker catches a bad pod."""

from __future__ import annotations

import copy

import pytest
from podsecurity import violations
from rendering import ENVS


@pytest.mark.parametrize("env", ENVS)
def test_pod_template_passes_the_restricted_level(rendered, env):
    spec = rendered[env].kind("Deployment")["spec"]["template"]["spec"]
    assert violations(spec) == []


@pytest.mark.parametrize("env", ENVS)
def test_namespace_enforces_the_restricted_level(rendered, env):
    labels = rendered[env].kind("Namespace")["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"


def test_checker_rejects_a_privileged_root_pod(rendered):
    spec = copy.deepcopy(rendered["prod"].kind("Deployment")["spec"]["template"]["spec"])
    spec["hostNetwork"] = True
    spec["securityContext"] = {}
    spec["volumes"].append({"name": "docker", "hostPath": {"path": "/var/run/docker.sock"}})
    spec["containers"][0]["securityContext"] = {
        "privileged": True,
        "runAsUser": 0,
        "capabilities": {"add": ["SYS_ADMIN"]},
        "seccompProfile": {"type": "Unconfined"},
    }
    found = "\n".join(violations(spec))
    for expected in (
        "hostNetwork is true",
        "volume docker is a hostPath",
        "containers[httpserver] is privileged",
        "containers[httpserver] adds capabilities ['SYS_ADMIN']",
        "containers[httpserver] seccompProfile is Unconfined",
        "containers[httpserver] does not set allowPrivilegeEscalation: false",
        "containers[httpserver] does not run with runAsNonRoot: true",
        "containers[httpserver] runAsUser is 0",
        "containers[httpserver] does not drop ALL capabilities",
    ):
        assert expected in found, f"missing {expected!r} in:\n{found}"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda s: s["containers"][0]["securityContext"].update(allowPrivilegeEscalation=True),
            "allowPrivilegeEscalation",
        ),
        (
            lambda s: s["containers"][0]["securityContext"]["capabilities"].update(drop=["NET_RAW"]),
            "drop ALL",
        ),
        (
            lambda s: s["containers"][0]["securityContext"]["capabilities"].update(add=["NET_ADMIN"]),
            "NET_ADMIN",
        ),
        (
            lambda s: s["containers"][0]["securityContext"].update(seccompProfile={"type": "Unconfined"}),
            "Unconfined",
        ),
        (lambda s: s.update(hostPID=True), "hostPID"),
        (lambda s: s.update(hostIPC=True), "hostIPC"),
        (lambda s: s["volumes"].append({"name": "nfs", "nfs": {"server": "x", "path": "/"}}), "forbids"),
        (lambda s: s["containers"][0]["ports"][0].update(hostPort=8080), "hostPort"),
    ],
)
def test_checker_rejects_each_single_breach(rendered, change, expected):
    spec = copy.deepcopy(rendered["prod"].kind("Deployment")["spec"]["template"]["spec"])
    change(spec)
    assert any(expected in v for v in violations(spec)), violations(spec)


def test_checker_allows_net_bind_service(rendered):
    spec = copy.deepcopy(rendered["prod"].kind("Deployment")["spec"]["template"]["spec"])
    spec["containers"][0]["securityContext"]["capabilities"]["add"] = ["NET_BIND_SERVICE"]
    assert violations(spec) == []
