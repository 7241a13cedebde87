"""The pki_issue module: issues what is missing or no longer matches, and leaves a settled PKI untouched."""

import datetime
import importlib.util
import os
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_PATH = Path(__file__).parents[2] / "plugins/modules/pki_issue.py"
_SPEC = importlib.util.spec_from_file_location("pki_issue", _PATH)
assert _SPEC and _SPEC.loader
pki_issue = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(pki_issue)

AUTHORITIES = [{"name": "ca", "common_name": "kubernetes"}, {"name": "etcd-ca", "common_name": "etcd-ca"}]
APISERVER = {
    "name": "apiserver",
    "ca": "ca",
    "common_name": "kube-apiserver",
    "usages": ["serverAuth"],
    "sans": ["DNS:kubernetes", "IP:10.96.0.1", "IP:127.0.0.1"],
}
ADMIN = {
    "name": "admin",
    "ca": "ca",
    "common_name": "kubernetes-admin",
    "organization": "system:masters",
    "usages": ["clientAuth"],
}
ETCD = {
    "name": "etcd-server",
    "ca": "etcd-ca",
    "common_name": "node1",
    "usages": ["serverAuth", "clientAuth"],
}


def _params(directory, **changes):
    params = {
        "dir": str(directory),
        "ca_dir": None,
        "authorities": AUTHORITIES,
        "certificates": [APISERVER, ADMIN, ETCD],
        "service_account_key": True,
        "ca_valid_days": 3650,
        "cert_valid_days": 365,
        "renew_before_days": 30,
    }
    return params | changes


def _issue(directory, check_mode=False, now=None, **changes):
    return pki_issue.Issuer(_params(directory, **changes), check_mode, now).run()


def _cert(directory, name):
    return x509.load_pem_x509_certificate((directory / f"{name}.crt").read_bytes())


def test_a_first_run_writes_every_key_and_certificate_with_tight_modes(tmp_path):
    written = _issue(tmp_path)
    expected = {
        f"{n}.{ext}" for n in ["ca", "etcd-ca", "apiserver", "admin", "etcd-server"] for ext in ["key", "crt"]
    }
    assert set(written) == expected | {"sa.key", "sa.pub"}
    assert oct((tmp_path / "admin.key").stat().st_mode & 0o777) == "0o600"
    assert oct((tmp_path / "admin.crt").stat().st_mode & 0o777) == "0o644"


def test_a_second_run_writes_nothing(tmp_path):
    _issue(tmp_path)
    before = {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()}
    assert _issue(tmp_path) == []
    assert {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()} == before


def test_leaves_carry_their_subject_names_and_usages_and_verify_against_their_authority(tmp_path):
    _issue(tmp_path)
    apiserver, admin, etcd = (_cert(tmp_path, n) for n in ["apiserver", "admin", "etcd-server"])
    apiserver.verify_directly_issued_by(_cert(tmp_path, "ca"))
    etcd.verify_directly_issued_by(_cert(tmp_path, "etcd-ca"))
    sans = apiserver.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sorted(str(v) for v in sans.get_values_for_type(x509.IPAddress)) == ["10.96.0.1", "127.0.0.1"]
    assert sans.get_values_for_type(x509.DNSName) == ["kubernetes"]
    assert admin.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "system:masters"
    usages = etcd.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert set(usages) == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}
    assert not admin.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert _cert(tmp_path, "ca").extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_a_changed_san_reissues_only_that_certificate_with_the_same_key(tmp_path):
    _issue(tmp_path)
    key_before = (tmp_path / "apiserver.key").read_bytes()
    changed = APISERVER | {"sans": [*APISERVER["sans"], "DNS:api.example"]}
    assert _issue(tmp_path, certificates=[changed, ADMIN, ETCD]) == ["apiserver.crt"]
    assert (tmp_path / "apiserver.key").read_bytes() == key_before


def test_a_certificate_within_the_renewal_window_is_reissued(tmp_path):
    _issue(tmp_path)
    later = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=340)
    assert sorted(_issue(tmp_path, now=later)) == ["admin.crt", "apiserver.crt", "etcd-server.crt"]


def test_a_new_authority_key_reissues_the_leaves_it_signs(tmp_path):
    _issue(tmp_path)
    (tmp_path / "etcd-ca.key").unlink()
    assert sorted(_issue(tmp_path)) == ["etcd-ca.crt", "etcd-ca.key", "etcd-server.crt"]
    _cert(tmp_path, "etcd-server").verify_directly_issued_by(_cert(tmp_path, "etcd-ca"))


def test_a_certificate_that_does_not_match_its_key_is_reissued(tmp_path):
    _issue(tmp_path)
    (tmp_path / "admin.crt").write_bytes((tmp_path / "apiserver.crt").read_bytes())
    (tmp_path / "admin.crt").chmod(0o644)
    assert _issue(tmp_path) == ["admin.crt"]


def test_check_mode_reports_what_would_be_written_and_writes_nothing(tmp_path):
    written = _issue(tmp_path, check_mode=True)
    assert "ca.crt" in written and "admin.crt" in written
    assert os.listdir(tmp_path) == []


def test_leaves_can_be_signed_by_authorities_kept_in_another_directory(tmp_path):
    cluster, host = tmp_path / "cluster", tmp_path / "host"
    cluster.mkdir()
    host.mkdir()
    _issue(cluster, certificates=[], service_account_key=False)
    assert sorted(
        _issue(host, ca_dir=str(cluster), authorities=[], certificates=[ETCD], service_account_key=False)
    ) == [
        "etcd-server.crt",
        "etcd-server.key",
    ]
    _cert(host, "etcd-server").verify_directly_issued_by(_cert(cluster, "etcd-ca"))


def test_a_missing_authority_is_named(tmp_path):
    with pytest.raises(ValueError, match="authority 'etcd-ca' has no certificate and key"):
        _issue(tmp_path, authorities=[], certificates=[ETCD])


def test_a_malformed_san_is_named(tmp_path):
    with pytest.raises(ValueError, match="'URI:x' is neither DNS"):
        _issue(tmp_path, certificates=[APISERVER | {"sans": ["URI:x"]}])


def test_check_mode_before_the_authorities_exist_reports_the_leaves_it_would_issue(tmp_path):
    written = _issue(
        tmp_path,
        check_mode=True,
        ca_dir=str(tmp_path / "none"),
        authorities=[],
        certificates=[ETCD],
        service_account_key=False,
    )
    assert sorted(written) == ["etcd-server.crt", "etcd-server.key"]
    assert os.listdir(tmp_path) == []
