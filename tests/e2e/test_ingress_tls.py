"""TLS at the ingress, scanned from outside with openssl: Mozilla's "intermediate" profile (TLS 1.2 with
ECDHE and AEAD suites only, TLS 1.3; groups X25519, P-256, P-384), HSTS on HTTPS answers, no certificate for a
client that names no host or another one, and the chain verifying against the project's CA for `cloudnative`.
Needs the cluster and the prod deployment from `make up` (a route to answer through)."""

from __future__ import annotations

import re
import subprocess

import pytest
import requests

INGRESS = "127.0.0.1:443"
HOST = "cloudnative"
CA = "/etc/cloudnative/tls/ca.crt"
# Mozilla intermediate, TLS 1.2 (OpenSSL names).
AEAD_ECDHE = {
    "ECDHE-ECDSA-AES128-GCM-SHA256",
    "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305",
    "ECDHE-RSA-CHACHA20-POLY1305",
}


def handshake(*options: str, servername: str | None = HOST) -> subprocess.CompletedProcess:
    """One TLS handshake with openssl s_client; returncode 0 when it completed (and verified, if asked)."""
    sni = ["-servername", servername] if servername else ["-noservername"]
    return subprocess.run(
        ["openssl", "s_client", "-connect", INGRESS, *sni, *options],
        input="",
        capture_output=True,
        text=True,
        timeout=15,
    )


@pytest.fixture(scope="module")
def route() -> None:
    answer = requests.get(f"https://{HOST}/prod/healthz", verify=CA, timeout=10)
    assert answer.status_code == 200, f"no route /prod on the ingress (run `make up`): {answer.status_code}"


def test_tls_1_2_accepts_only_ecdhe_aead_suites(route):
    listed = subprocess.run(
        ["openssl", "ciphers", "-tls1_2", "ALL:COMPLEMENTOFALL:@SECLEVEL=0"], capture_output=True, text=True
    ).stdout.strip()
    # TLS 1.3 suites (TLS_...) are listed too; -cipher sets only the TLS 1.2 ones.
    ciphers = [c for c in listed.split(":") if c and not c.startswith("TLS_")]
    assert len(ciphers) > 50, ciphers
    accepted = {c for c in ciphers if handshake("-tls1_2", "-cipher", f"{c}:@SECLEVEL=0").returncode == 0}
    assert accepted, "no TLS 1.2 suite accepted at all"
    assert accepted <= AEAD_ECDHE, f"suites outside the intermediate profile: {sorted(accepted - AEAD_ECDHE)}"


@pytest.mark.parametrize("version", ["-tls1", "-tls1_1"])
def test_tls_older_than_1_2_is_refused(route, version):
    assert handshake(version, "-cipher", "ALL:@SECLEVEL=0").returncode != 0


def test_tls_1_3_is_served(route):
    proc = handshake("-tls1_3")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert re.search(r"Protocol\s*:\s*TLSv1\.3|New, TLSv1\.3", proc.stdout), proc.stdout[-2000:]


def key_exchange_group(proc: subprocess.CompletedProcess) -> str | None:
    """The group the handshake used, from s_client's "Server Temp Key: X25519, 253 bits" line."""
    found = re.search(r"Server Temp Key: (?:ECDH, )?([A-Za-z0-9]+),", proc.stdout)
    return found[1] if proc.returncode == 0 and found else None


@pytest.mark.parametrize(
    ("group", "accepted"),
    [("X25519", True), ("prime256v1", True), ("secp384r1", True), ("secp521r1", False)],
)
def test_only_the_profiles_key_exchange_groups_are_used(route, group, accepted):
    # TLS 1.3: the client offers this group alone, so the handshake succeeds exactly when the server takes it.
    tls13 = handshake("-tls1_3", "-groups", group)
    assert (key_exchange_group(tls13) == group) == accepted, tls13.stdout[-1500:]
    if not accepted:
        assert tls13.returncode != 0
    # TLS 1.2: the offer must also hold the certificate's curve (P-256), so the client offers both and the
    # server picks; a group outside the profile is never the one used.
    offer = group if group == "prime256v1" else f"{group}:prime256v1"
    tls12 = handshake("-tls1_2", "-groups", offer)
    assert tls12.returncode == 0, tls12.stdout[-1500:]
    assert (key_exchange_group(tls12) == group) == accepted, tls12.stdout[-1500:]


def test_the_chain_verifies_against_the_project_ca_for_cloudnative(route):
    proc = handshake("-CAfile", CA, "-verify_return_error", "-verify_hostname", HOST)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-1000:]
    assert "Verify return code: 0 (ok)" in proc.stdout


@pytest.mark.parametrize("servername", [None, "unknown.example"], ids=["no-sni", "unknown-sni"])
def test_a_client_naming_no_served_host_gets_no_certificate(route, servername):
    proc = handshake(servername=servername)
    assert proc.returncode != 0, f"a handshake for {servername!r} succeeded:\n{proc.stdout[-1500:]}"
    assert "BEGIN CERTIFICATE" not in proc.stdout


def test_https_answers_carry_hsts_for_a_year(route):
    answer = requests.get(f"https://{HOST}/prod/fibo?n=10", verify=CA, timeout=10)
    assert answer.headers.get("Strict-Transport-Security") == "max-age=31536000", dict(answer.headers)


@pytest.mark.parametrize(("method", "status"), [("GET", 301), ("POST", 308)])
def test_plain_http_still_redirects_permanently_to_https(route, method, status):
    # Traefik's permanent redirect: 301 for GET and HEAD, 308 (method and body kept) for the others.
    answer = requests.request(method, f"http://{HOST}/prod/fibo?n=10", allow_redirects=False, timeout=10)
    assert answer.status_code == status, (answer.status_code, dict(answer.headers))
    assert answer.headers["Location"] == f"https://{HOST}/prod/fibo?n=10"
