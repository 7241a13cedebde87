"""Security of what runs: registry auth, the ingress's TLS versions and chain, the HTTP redirect, and
pods that run as non-root on a read-only root filesystem (spec and running container)."""

from __future__ import annotations

import socket
import ssl
import subprocess

import pytest
from load_env import HOST, INGRESS, REGISTRY, REGISTRY_CA, TLS_CA, LoadEnv
from load_k8s import container_inspect
from load_probes import http_get, tls_handshake
from load_registry import MANIFEST_TYPES, Registry, registry_password, split_image

pytestmark = pytest.mark.timeout(120, func_only=True)


def test_the_registry_refuses_anonymous_pulls(load_env: LoadEnv):
    _, repository, tag = split_image(load_env.cluster.image())
    anonymous = Registry(REGISTRY, REGISTRY_CA)
    for path in (f"{repository}/manifests/{tag}", "_catalog", ""):
        response = anonymous.get(path, headers={"Accept": MANIFEST_TYPES})
        assert response.status_code == 401, f"anonymous GET /v2/{path} gave {response.status_code}"
    # The same pull with the credentials works, so the 401 is about authentication.
    authenticated = Registry(REGISTRY, REGISTRY_CA, "cloudnative", registry_password())
    response = authenticated.get(f"{repository}/manifests/{tag}", headers={"Accept": MANIFEST_TYPES})
    assert response.status_code == 200, response.text[:200]


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1], ids=["tls1.0", "tls1.1"])
def test_the_ingress_refuses_tls_older_than_1_2(load_env: LoadEnv, version: ssl.TLSVersion):
    outcome = tls_handshake(INGRESS[0], INGRESS[1], HOST, version, TLS_CA)
    assert not outcome.accepted, f"the ingress accepted {outcome.negotiated}"
    assert outcome.refused_by_server, (
        f"the handshake failed on this side, not refused by the ingress: {outcome}"
    )


@pytest.mark.parametrize(
    "version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3], ids=["tls1.2", "tls1.3"]
)
def test_the_ingress_serves_tls_1_2_and_newer_with_the_generated_chain(load_env: LoadEnv, version):
    outcome = tls_handshake(INGRESS[0], INGRESS[1], HOST, version, TLS_CA)
    assert (
        outcome.accepted and outcome.negotiated == {"TLSv1_2": "TLSv1.2", "TLSv1_3": "TLSv1.3"}[version.name]
    ), outcome


def test_the_ingress_certificate_is_not_trusted_without_the_generated_ca(load_env: LoadEnv):
    ctx = ssl.create_default_context()  # the system's store only
    with socket.create_connection(INGRESS, 5) as raw, pytest.raises(ssl.SSLCertVerificationError):
        ctx.wrap_socket(raw, server_hostname=HOST)


def test_plain_http_redirects_to_https(load_env: LoadEnv):
    status, headers = http_get("127.0.0.1", 80, HOST, "/prod/healthz")
    assert status in (301, 302, 307, 308), (status, headers)
    assert headers.get("location", "").startswith(f"https://{HOST}/prod/healthz"), headers


def test_pods_run_as_non_root_with_a_read_only_root_filesystem(load_env: LoadEnv):
    pods = load_env.cluster.ready_pods()
    assert pods, "no ready pod to inspect"
    for pod in pods:
        name = pod.metadata.name
        container = next(c for c in pod.spec.containers if c.name == "httpserver")
        pod_sc, sc = pod.spec.security_context, container.security_context
        # The spec, as admitted by the API server.
        assert pod_sc.run_as_non_root and sc.run_as_non_root, name
        assert (sc.run_as_user or pod_sc.run_as_user) not in (None, 0), name
        assert sc.read_only_root_filesystem is True, name
        assert sc.allow_privilege_escalation is False, name
        assert sc.capabilities.drop == ["ALL"] and not sc.capabilities.add, name
        # The running container, as containerd started it.
        info = container_inspect(pod)["info"]
        spec = info["runtimeSpec"]
        assert spec["process"]["user"]["uid"] != 0 and spec["process"]["user"]["gid"] != 0, spec["process"][
            "user"
        ]
        assert spec["root"].get("readonly") is True, spec["root"]
        pid = int(info["pid"])
        with open(f"/proc/{pid}/status") as fh:
            uids = next(line.split()[1:] for line in fh if line.startswith("Uid:"))
        assert "0" not in uids, f"{name}: the app process runs with uids {uids}"
        # Writing to / inside the container fails with EROFS even for root; /tmp (emptyDir) is writable.
        probe = (
            "import errno, sys\n"
            "try:\n    open('/load-test-probe', 'w')\n"
            "except OSError as e:\n    sys.exit(0 if e.errno == errno.EROFS else 3)\n"
            "sys.exit(4)\n"
        )
        rc = subprocess.run(
            ["nsenter", "-t", str(pid), "-m", "--", "/opt/venv/bin/python", "-c", probe],
            timeout=30,
            check=False,
        ).returncode
        assert rc == 0, f"{name}: writing to the root filesystem did not fail with EROFS (rc {rc})"
        rc = subprocess.run(
            [
                "nsenter",
                "-t",
                str(pid),
                "-m",
                "--",
                "/opt/venv/bin/python",
                "-c",
                "import os; open('/tmp/load-test-probe', 'w').write('x'); os.remove('/tmp/load-test-probe')",
            ],
            timeout=30,
            check=False,
        ).returncode
        assert rc == 0, f"{name}: /tmp is not writable: the read-only check above proves nothing"
