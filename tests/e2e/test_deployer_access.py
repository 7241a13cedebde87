"""The least-privilege deployer identities cluster.yml gives each environment, and that site.yml deploys with
them: asked with `kubectl auth can-i` as the identity, tried for real, and read back from the audit log.
Needs the cluster and the dev and prod deployments from `make up`."""

from __future__ import annotations

import stat
import subprocess
from pathlib import Path

import pytest
from conftest import BIN_DIR, audit_entries

DEPLOYERS = Path("/etc/kubernetes/deployers")
DEV_USER = "system:serviceaccount:cloudnative-dev:cloudnative-deployer"


def as_deployer(env: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN_DIR / "kubectl"), f"--kubeconfig={DEPLOYERS / f'{env}.conf'}", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def can_i(env: str, *args: str) -> bool:
    answer = as_deployer(env, "auth", "can-i", *args).stdout.strip()
    assert answer in ("yes", "no"), f"kubectl auth can-i {' '.join(args)} as the {env} deployer: {answer!r}"
    return answer == "yes"


@pytest.mark.parametrize(
    "args",
    [
        ("create", "deployments.apps", "-n", "cloudnative-dev"),
        ("patch", "deployments.apps", "-n", "cloudnative-dev"),
        ("create", "secrets", "-n", "cloudnative-dev"),
        ("delete", "configmaps", "-n", "cloudnative-dev"),
        ("create", "networkpolicies.networking.k8s.io", "-n", "cloudnative-dev"),
        ("patch", "namespace/cloudnative-dev"),
    ],
)
def test_the_dev_deployer_may_do_what_site_yml_does_in_dev(args):
    assert can_i("dev", *args), f"the dev deployer may not {' '.join(args)}"


@pytest.mark.parametrize(
    "args",
    [
        ("get", "secrets", "-n", "cloudnative-prod"),
        ("create", "deployments.apps", "-n", "cloudnative-prod"),
        ("get", "secrets", "-n", "kube-system"),
        ("create", "clusterroles.rbac.authorization.k8s.io"),
        ("create", "rolebindings.rbac.authorization.k8s.io", "-n", "cloudnative-dev"),
        ("create", "namespaces"),
        ("delete", "namespace/cloudnative-dev"),
        ("patch", "namespace/cloudnative-prod"),
        ("create", "pods/exec", "-n", "cloudnative-dev"),
        ("list", "nodes"),
    ],
)
def test_the_dev_deployer_may_do_nothing_else(args):
    assert not can_i("dev", *args), f"the dev deployer may {' '.join(args)}"


def test_reading_another_environments_secret_is_refused_by_the_api():
    proc = as_deployer("dev", "get", "secret", "httpserver-tls", "-n", "cloudnative-prod")
    assert proc.returncode != 0
    assert "forbidden" in proc.stderr.lower() and DEV_USER in proc.stderr, proc.stderr


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_each_environments_kubeconfig_is_root_only(env):
    path = DEPLOYERS / f"{env}.conf"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600, oct(path.stat().st_mode)
    assert stat.S_IMODE(DEPLOYERS.stat().st_mode) == 0o700


def test_site_yml_deployed_dev_as_its_deployer_not_as_admin():
    writers = {
        e["user"]["username"]
        for e in audit_entries()
        if e.get("verb") in ("create", "patch", "update")
        and (e.get("objectRef", {}).get("namespace"), e.get("objectRef", {}).get("resource"))
        == ("cloudnative-dev", "deployments")
    }
    assert DEV_USER in writers, f"no write to the dev Deployment by its deployer in the audit log: {writers}"
