"""The CIS Kubernetes Benchmark items that apply to this cluster, read from the running daemons' command
lines, the kubelet's configuration, the files on disk and the live endpoints. README.md's table "CIS
Kubernetes Benchmark" lists every item, held or not, and why. Needs the cluster from `make up`."""

from __future__ import annotations

import shlex
import stat
import subprocess
from pathlib import Path

import pytest
import requests
import yaml

PKI = Path("/etc/kubernetes/pki")
KUBECONFIG_DIR = Path("/etc/kubernetes")
KUBELET_CONFIG = Path("/etc/kubernetes/config/kubelet.yaml")
STRONG_SUITES = {
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
}


def flags(program: str) -> dict[str, str]:
    """The --flag=value pairs of a supervisor program's running process."""
    pid = subprocess.run(
        ["supervisorctl", "pid", f"cloudnative-{program}"], capture_output=True, text=True, timeout=30
    ).stdout.strip()
    assert pid.isdigit() and pid != "0", f"cloudnative-{program} is not running: {pid!r}"
    argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    found = {}
    for arg in (a.decode() for a in argv[1:] if a.startswith(b"--")):
        name, _, value = arg[2:].partition("=")
        found[name] = value
    return found


@pytest.fixture(scope="module")
def apiserver() -> dict[str, str]:
    return flags("kube-apiserver")


def test_1_2_api_server_authorizes_with_node_and_rbac_and_no_static_tokens(apiserver):
    modes = apiserver["authorization-mode"].split(",")
    assert "Node" in modes and "RBAC" in modes and "AlwaysAllow" not in modes
    assert "token-auth-file" not in apiserver
    assert apiserver.get("service-account-lookup", "true") == "true"


def test_1_2_admission_plugins_include_node_restriction_and_pod_security(apiserver):
    plugins = apiserver["enable-admission-plugins"].split(",")
    assert {"NodeRestriction", "PodSecurity"} <= set(plugins) and "AlwaysAdmit" not in plugins
    assert "NamespaceLifecycle" not in apiserver.get("disable-admission-plugins", "")
    assert "ServiceAccount" not in apiserver.get("disable-admission-plugins", "")


def test_1_2_api_server_verifies_kubelets_and_etcd_with_certificates(apiserver):
    for flag in (
        "kubelet-client-certificate",
        "kubelet-client-key",
        "kubelet-certificate-authority",
        "etcd-certfile",
        "etcd-keyfile",
        "etcd-cafile",
        "tls-cert-file",
        "tls-private-key-file",
        "client-ca-file",
        "service-account-key-file",
    ):
        assert Path(apiserver[flag]).is_file(), flag


def test_1_2_profiling_off_everywhere(apiserver):
    assert apiserver["profiling"] == "false"
    for program in ("kube-controller-manager", "kube-scheduler"):
        assert flags(program)["profiling"] == "false", program


def test_1_2_audit_log_with_the_benchmarks_retention(apiserver):
    assert Path(apiserver["audit-policy-file"]).is_file()
    assert apiserver["audit-log-path"]
    assert int(apiserver["audit-log-maxage"]) >= 30
    assert int(apiserver["audit-log-maxbackup"]) >= 10
    assert int(apiserver["audit-log-maxsize"]) >= 100


def test_1_2_secrets_encrypted_with_a_strong_provider(apiserver):
    config = yaml.safe_load(Path(apiserver["encryption-provider-config"]).read_text())
    (resource,) = config["resources"]
    assert resource["resources"] == ["secrets"]
    assert next(iter(resource["providers"][0])) in ("secretbox", "aesgcm", "aescbc", "kms")


def handshake(port: int, *options: str) -> bool:
    """Whether a TLS handshake with openssl s_client on 127.0.0.1:port completes."""
    proc = subprocess.run(
        ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", *options],
        input="",
        capture_output=True,
        text=True,
        timeout=15,
        check=False,
    )
    return proc.returncode == 0


@pytest.mark.parametrize("port", [6443, 10250], ids=["api-server", "kubelet"])
def test_1_2_and_4_2_tls_is_1_2_or_later_with_aead_suites_only(apiserver, port):
    assert apiserver["tls-min-version"] == "VersionTLS12"
    assert set(apiserver["tls-cipher-suites"].split(",")) <= STRONG_SUITES
    assert handshake(port, "-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256")
    assert handshake(port, "-tls1_3")
    assert not handshake(port, "-tls1_1", "-cipher", "ALL:@SECLEVEL=0")
    assert not handshake(port, "-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:AES128-SHA")


def test_1_2_anonymous_requests_reach_only_the_health_endpoints():
    # Anonymous auth stays on for /readyz, /livez and /healthz (probes and load balancer checks); RBAC gives
    # system:anonymous nothing else.
    assert (
        requests.get("https://127.0.0.1:6443/readyz", verify=str(PKI / "ca.crt"), timeout=5).status_code
        == 200
    )
    denied = requests.get("https://127.0.0.1:6443/api/v1/secrets", verify=str(PKI / "ca.crt"), timeout=5)
    assert denied.status_code == 403 and "system:anonymous" in denied.text


def test_1_3_controller_manager_uses_per_controller_credentials_on_loopback():
    cm = flags("kube-controller-manager")
    assert cm["use-service-account-credentials"] == "true"
    assert cm["bind-address"] == "127.0.0.1"
    assert Path(cm["service-account-private-key-file"]).is_file() and Path(cm["root-ca-file"]).is_file()
    assert flags("kube-scheduler")["bind-address"] == "127.0.0.1"


def test_2_etcd_requires_client_and_peer_certificates():
    etcd = flags("etcd")
    assert etcd["client-cert-auth"] == "true" and etcd["peer-client-cert-auth"] == "true"
    assert etcd.get("auto-tls", "false") == "false" and etcd.get("peer-auto-tls", "false") == "false"
    for flag in ("cert-file", "key-file", "peer-cert-file", "peer-key-file", "trusted-ca-file"):
        assert Path(etcd[flag]).is_file(), flag
    # Its own CA: a certificate from the cluster CA is no etcd client.
    assert etcd["trusted-ca-file"] != str(PKI / "ca.crt")


def test_4_2_kubelet_refuses_anonymous_callers_and_authorizes_by_webhook():
    config = yaml.safe_load(KUBELET_CONFIG.read_text())
    assert config["authentication"]["anonymous"]["enabled"] is False
    assert config["authentication"]["webhook"]["enabled"] is True
    assert config["authorization"]["mode"] == "Webhook"
    assert config["readOnlyPort"] == 0
    assert config["tlsMinVersion"] == "VersionTLS12" and set(config["tlsCipherSuites"]) <= STRONG_SUITES
    # Anonymous, and without checking the kubelet's certificate: only its answer to a stranger matters here.
    answer = requests.get("https://127.0.0.1:10250/pods", verify=False, timeout=5)
    assert answer.status_code == 401
    refused = subprocess.run(
        shlex.split("curl -s -o /dev/null --max-time 3 http://127.0.0.1:10255/pods"), timeout=10, check=False
    )
    assert refused.returncode != 0, "the kubelet's read-only port answers"


@pytest.mark.parametrize("pattern", ["*.key", "sa.key"])
def test_1_1_keys_are_root_only(pattern):
    keys = list(PKI.glob(pattern))
    assert keys
    for key in keys:
        assert stat.S_IMODE(key.stat().st_mode) == 0o600, key
        assert key.stat().st_uid == 0


def test_1_1_kubeconfigs_and_data_directories_are_root_only():
    for conf in KUBECONFIG_DIR.glob("*.conf"):
        assert stat.S_IMODE(conf.stat().st_mode) == 0o600, conf
    assert stat.S_IMODE(Path("/var/lib/etcd").stat().st_mode) == 0o700
    assert stat.S_IMODE(Path(flags("kube-apiserver")["encryption-provider-config"]).stat().st_mode) == 0o600
