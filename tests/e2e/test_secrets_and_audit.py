"""Secrets encrypted at rest and the API server's audit log, read where they land: etcd read straight with
etcdctl and the API server's etcd client certificate, and the audit log file. Needs the cluster and the prod
deployment from `make up` (its TLS Secret)."""

from __future__ import annotations

import json
import stat
import subprocess
import uuid
from pathlib import Path

from conftest import AUDIT_LOG, BIN_DIR, audit_entries, kubectl, wait_for

PKI = Path("/etc/kubernetes/pki")
ENCRYPTION_CONFIG = Path("/etc/kubernetes/encryption-config.yaml")


def etcd_value(key: str) -> bytes:
    """The raw value etcd stores under key (what a stolen etcd backup would show)."""
    proc = subprocess.run(
        [
            str(BIN_DIR / "etcdctl"),
            "--endpoints=https://127.0.0.1:2379",
            f"--cacert={PKI / 'etcd-ca.crt'}",
            f"--cert={PKI / 'apiserver-etcd-client.crt'}",
            f"--key={PKI / 'apiserver-etcd-client.key'}",
            "get",
            key,
            "--print-value-only",
        ],
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout, f"etcd holds nothing under {key}"
    return proc.stdout


def test_a_secret_is_ciphertext_in_etcd():
    raw = etcd_value("/registry/secrets/cloudnative-prod/httpserver-tls")
    assert raw.startswith(b"k8s:enc:secretbox:v1:key1:"), raw[:60]
    assert b"PRIVATE KEY" not in raw and b"CERTIFICATE" not in raw
    # The API still serves it in clear to those allowed to read it.
    secret = json.loads(
        kubectl("get", "secret", "-n", "cloudnative-prod", "httpserver-tls", "-o", "json").stdout
    )
    assert set(secret["data"]) >= {"tls.crt", "tls.key"}


def test_a_secret_created_now_is_encrypted_too(namespace):
    kubectl("create", "secret", "generic", "probe", "-n", namespace, "--from-literal=word=plaintext-canary")
    raw = etcd_value(f"/registry/secrets/{namespace}/probe")
    assert raw.startswith(b"k8s:enc:secretbox:v1:key1:") and b"plaintext-canary" not in raw


def test_the_encryption_key_file_is_root_only():
    mode = stat.S_IMODE(ENCRYPTION_CONFIG.stat().st_mode)
    assert mode == 0o600, oct(mode)


def test_audit_log_records_writes_with_their_body_and_secret_access_without(namespace):
    configmap_canary, secret_canary = (f"canary-{uuid.uuid4().hex}" for _ in range(2))
    kubectl("create", "configmap", "audited", "-n", namespace, f"--from-literal=word={configmap_canary}")
    kubectl("create", "secret", "generic", "audited", "-n", namespace, f"--from-literal=word={secret_canary}")
    kubectl("get", "secret", "audited", "-n", namespace, "-o", "json")

    def find(resource: str, verb: str) -> dict | None:
        for entry in audit_entries():
            ref = entry.get("objectRef", {})
            name = ref.get("name") or entry.get("requestObject", {}).get("metadata", {}).get("name")
            if (ref.get("namespace"), ref.get("resource"), name, entry.get("verb")) == (
                namespace,
                resource,
                "audited",
                verb,
            ):
                return entry
        return None

    configmap_write = wait_for(
        lambda: find("configmaps", "create"), timeout=30, what="the ConfigMap's audit entry"
    )
    assert configmap_write["level"] == "Request"
    assert configmap_canary in json.dumps(configmap_write["requestObject"]), "the write's body is not logged"

    secret_write = wait_for(
        lambda: find("secrets", "create"), timeout=30, what="the Secret write's audit entry"
    )
    secret_read = wait_for(lambda: find("secrets", "get"), timeout=30, what="the Secret read's audit entry")
    for entry in (secret_write, secret_read):
        assert entry["level"] == "Metadata"
        assert "requestObject" not in entry and "responseObject" not in entry
        assert entry["user"]["username"] == "kubernetes-admin"
    assert secret_canary not in AUDIT_LOG.read_text(errors="replace"), (
        "a Secret's value reached the audit log"
    )


def test_the_audit_log_directory_is_root_only():
    mode = stat.S_IMODE(AUDIT_LOG.parent.stat().st_mode)
    assert mode == 0o700, oct(mode)
