"""Pod Security on the cluster's own namespaces: kube-system enforces "restricted" (CoreDNS and
metrics-server meet it), and only the ingress controller's namespace is "privileged", for its host ports.
Checked by asking the API server to admit pods (server-side dry runs: nothing is created). Needs the cluster
from `make up`."""

from __future__ import annotations

import json

import pytest
from conftest import kubectl

RESTRICTED_POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "pss-probe"},
    "spec": {
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": 65532,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [
            {
                "name": "probe",
                "image": "registry.cloudnative:5000/cloudnative/pause:3.10.1",
                "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
            }
        ],
    },
}


def admit(namespace: str, pod: dict):
    return kubectl(
        "create", "--dry-run=server", "-n", namespace, "-f", "-", input_text=json.dumps(pod), check=False
    )


def with_host_port(pod: dict) -> dict:
    changed = json.loads(json.dumps(pod))
    changed["spec"]["containers"][0]["ports"] = [{"containerPort": 8443, "hostPort": 8443}]
    return changed


def test_kube_system_enforces_restricted():
    labels = json.loads(kubectl("get", "namespace", "kube-system", "-o", "json").stdout)["metadata"]["labels"]
    assert labels.get("pod-security.kubernetes.io/enforce") == "restricted", labels
    assert admit("kube-system", RESTRICTED_POD).returncode == 0
    refused = admit("kube-system", with_host_port(RESTRICTED_POD))
    assert refused.returncode != 0 and "violates PodSecurity" in refused.stderr, refused.stderr


@pytest.mark.parametrize("deployment", ["coredns", "metrics-server"])
def test_the_addons_in_kube_system_run_there_under_restricted(deployment):
    status = json.loads(kubectl("get", "deployment", "-n", "kube-system", deployment, "-o", "json").stdout)[
        "status"
    ]
    assert status.get("availableReplicas", 0) >= 1, status


def test_only_the_ingress_namespace_is_privileged_and_it_runs_traefik():
    namespaces = json.loads(kubectl("get", "namespaces", "-o", "json").stdout)["items"]
    privileged = sorted(
        n["metadata"]["name"]
        for n in namespaces
        if n["metadata"].get("labels", {}).get("pod-security.kubernetes.io/enforce") == "privileged"
    )
    assert privileged == ["ingress"], privileged
    pods = json.loads(
        kubectl("get", "pods", "-n", "ingress", "-l", "app.kubernetes.io/name=traefik", "-o", "json").stdout
    )["items"]
    assert pods and all(p["status"]["phase"] == "Running" for p in pods)
    assert not json.loads(
        kubectl(
            "get", "pods", "-n", "kube-system", "-l", "app.kubernetes.io/name=traefik", "-o", "json"
        ).stdout
    )["items"], "an old Traefik pod is left in kube-system"
