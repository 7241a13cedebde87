#!/usr/bin/python
# Copyright: cloudnative.httpserver maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Issue certificate authorities, leaf certificates and a service-account key pair in one module process."""

from __future__ import annotations

DOCUMENTATION = r"""
module: pki_issue
short_description: Keep a set of keys and X.509 certificates issued, in one process
author: cloudnative.httpserver maintainers (!UNKNOWN)
version_added: 0.2.0
description:
  - Creates the missing private keys (ECDSA P-256 for certificates, RSA 2048 for the service-account key),
    self-signs the certificate authorities and issues each leaf certificate from its authority.
  - A certificate is (re)issued when it is missing, expires within O(renew_before_days), does not belong to
    its key, was not signed by its authority's current certificate, or differs from its specification
    (subject, subject alternative names, extended key usages). Everything else is left as it is, so a second
    run changes nothing.
  - It does in one process what community.crypto's modules do in one process per key, request and
    certificate; a cluster's PKI of three authorities and thirteen leaves took about 16 s through them on a
    2-core machine.
options:
  dir:
    description: Directory the leaf certificates and keys are written to (V(name).crt, V(name).key).
    type: path
    required: true
  ca_dir:
    description: Directory of the authorities' certificates and keys. Defaults to O(dir).
    type: path
  authorities:
    description: Certificate authorities to create in O(ca_dir) (V(name), V(common_name)). Leave empty to
      only sign with authorities that exist.
    type: list
    elements: dict
    default: []
  certificates:
    description: Leaf certificates (V(name), V(ca), V(common_name), optional V(organization), V(sans) such as
      V(DNS:localhost) or V(IP:127.0.0.1), and V(usages) such as V(serverAuth) and V(clientAuth)).
    type: list
    elements: dict
    default: []
  service_account_key:
    description: Also keep V(sa.key) (RSA 2048) and its public key V(sa.pub) in O(dir).
    type: bool
    default: false
  ca_valid_days:
    description: Lifetime of a newly signed authority.
    type: int
    default: 3650
  cert_valid_days:
    description: Lifetime of a newly issued leaf certificate.
    type: int
    default: 365
  renew_before_days:
    description: A certificate that expires within this many days is issued again.
    type: int
    default: 30
requirements: [cryptography >= 40]
"""

EXAMPLES = r"""
- name: Issue the cluster PKI
  cloudnative.httpserver.pki_issue:
    dir: /etc/kubernetes/pki
    authorities: [{name: ca, common_name: kubernetes}]
    certificates:
      - name: admin
        ca: ca
        common_name: kubernetes-admin
        organization: system:masters
        usages: [clientAuth]
    service_account_key: true
"""

RETURN = r"""
written:
  description: Files created or replaced, relative to their directory (V(ca.crt), V(admin.key), ...).
  type: list
  elements: str
  returned: always
"""

import datetime
import ipaddress
import os
import tempfile

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

try:
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
except ImportError:  # reported by the module with missing_required_lib
    x509 = None

_USAGES = {"serverAuth": "SERVER_AUTH", "clientAuth": "CLIENT_AUTH"}


def _read(path):
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def _write(path, data, mode, check_mode):
    if not check_mode:
        handle, temporary = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".pki-")
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.chmod(temporary, mode)
        os.replace(temporary, path)


def _pem_key(key):
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _public_pem(public_key):
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


class Issuer:
    """Keeps keys and certificates in place, writing only what is missing or no longer matches."""

    def __init__(self, params, check_mode, now=None):
        self.params = params
        self.check_mode = check_mode
        self.now = now or datetime.datetime.now(datetime.UTC)
        self.written = []

    def _save(self, directory, file_name, data, mode):
        _write(os.path.join(directory, file_name), data, mode, self.check_mode)
        self.written.append(file_name)

    def key(self, directory, name, make):
        data = _read(os.path.join(directory, name + ".key"))
        if data is not None:
            return serialization.load_pem_private_key(data, password=None)
        key = make()
        self._save(directory, name + ".key", _pem_key(key), 0o600)
        return key

    def _current(self, path, key, issuer_cert, wanted):
        data = _read(path)
        if data is None:
            return None
        try:
            cert = x509.load_pem_x509_certificate(data)
        except ValueError:
            return None
        renew_at = self.now + datetime.timedelta(days=self.params["renew_before_days"])
        fresh = cert.not_valid_after_utc > renew_at
        own_key = _public_pem(key.public_key()) == _public_pem(cert.public_key())
        try:
            cert.verify_directly_issued_by(issuer_cert or cert)
            signed = True
        except (ValueError, TypeError, InvalidSignature):
            signed = False
        return cert if fresh and own_key and signed and _describe(cert) == wanted else None

    def certificate(self, directory, spec, key, issuer_key, issuer_cert, days):
        path = os.path.join(directory, spec["name"] + ".crt")
        wanted = _wanted(spec, ca=issuer_cert is None)
        cert = self._current(path, key, issuer_cert, wanted)
        if cert is not None:
            return cert
        subject = _name(spec)
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer_cert.subject if issuer_cert else subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(self.now - datetime.timedelta(minutes=5))
            .not_valid_after(self.now + datetime.timedelta(days=days))
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        )
        for extension, critical in _extensions(spec, ca=issuer_cert is None):
            builder = builder.add_extension(extension, critical=critical)
        if issuer_cert is not None:
            aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_cert.public_key())
            builder = builder.add_extension(aki, critical=False)
        cert = builder.sign(issuer_key, hashes.SHA256())
        self._save(directory, spec["name"] + ".crt", cert.public_bytes(serialization.Encoding.PEM), 0o644)
        return cert

    def authority(self, spec, ca_dir, days):
        key = self.key(ca_dir, spec["name"], _ec_key)
        return key, self.certificate(ca_dir, spec, key, key, None, days)

    def run(self):
        params = self.params
        ca_dir = params["ca_dir"] or params["dir"]
        authorities = {}
        for spec in params["authorities"]:
            authorities[spec["name"]] = self.authority(spec, ca_dir, params["ca_valid_days"])
        for spec in params["certificates"]:
            if spec["ca"] not in authorities:
                authorities[spec["ca"]] = _load_authority(ca_dir, spec["ca"], self.check_mode)
            ca_key, ca_cert = authorities[spec["ca"]]
            key = self.key(params["dir"], spec["name"], _ec_key)
            self.certificate(params["dir"], spec, key, ca_key, ca_cert, params["cert_valid_days"])
        if params["service_account_key"]:
            key = self.key(params["dir"], "sa", lambda: rsa.generate_private_key(65537, 2048))
            public = _public_pem(key.public_key())
            if _read(os.path.join(params["dir"], "sa.pub")) != public:
                self._save(params["dir"], "sa.pub", public, 0o644)
        return self.written


def _ec_key():
    return ec.generate_private_key(ec.SECP256R1())


def _load_authority(ca_dir, name, check_mode):
    cert_data = _read(os.path.join(ca_dir, name + ".crt"))
    key_data = _read(os.path.join(ca_dir, name + ".key"))
    if (cert_data is None or key_data is None) and check_mode:
        # A check run before the authorities exist: every leaf it signs would be issued.
        return Issuer({"renew_before_days": 0}, True).authority(
            {"name": name, "common_name": name}, ca_dir, 1
        )
    if cert_data is None or key_data is None:
        raise ValueError(f"authority {name!r} has no certificate and key in {ca_dir}")
    return serialization.load_pem_private_key(key_data, password=None), x509.load_pem_x509_certificate(
        cert_data
    )


def _name(spec):
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, spec["common_name"])]
    if spec.get("organization"):
        attributes.insert(0, x509.NameAttribute(NameOID.ORGANIZATION_NAME, spec["organization"]))
    return x509.Name(attributes)


def _general_name(san):
    kind, value = [*san.split(":", 1), ""][:2]
    if kind == "DNS":
        return x509.DNSName(value)
    if kind == "IP":
        return x509.IPAddress(ipaddress.ip_address(value))
    raise ValueError(f"subject alternative name {san!r} is neither DNS:<name> nor IP:<address>")


def _extensions(spec, ca):
    if ca:
        usage = x509.KeyUsage(True, False, False, False, False, True, True, False, False)
        return [(x509.BasicConstraints(ca=True, path_length=None), True), (usage, True)]
    unknown = sorted(set(spec["usages"]) - set(_USAGES))
    if unknown:
        raise ValueError(f"certificate {spec['name']!r}: unknown usages {unknown}, known: {sorted(_USAGES)}")
    extensions = [
        (x509.BasicConstraints(ca=False, path_length=None), False),
        (x509.KeyUsage(True, False, True, False, False, False, False, False, False), True),
        (x509.ExtendedKeyUsage([getattr(ExtendedKeyUsageOID, _USAGES[u]) for u in spec["usages"]]), False),
    ]
    if spec.get("sans"):
        extensions.append((x509.SubjectAlternativeName([_general_name(s) for s in spec["sans"]]), False))
    return extensions


def _wanted(spec, ca):
    """What a certificate issued from spec looks like, in the terms _describe reads back."""
    return _describe_parts(_name(spec), [extension for extension, _critical in _extensions(spec, ca)])


def _describe(cert):
    return _describe_parts(cert.subject, [extension.value for extension in cert.extensions])


def _describe_parts(subject, values):
    kept = {}
    for value in values:
        if isinstance(value, x509.SubjectAlternativeName):
            kept["sans"] = sorted(str(name.value) for name in value)
        elif isinstance(value, x509.ExtendedKeyUsage):
            kept["usages"] = sorted(oid.dotted_string for oid in value)
        elif isinstance(value, x509.BasicConstraints):
            kept["ca"] = value.ca
    return subject.rfc4514_string(), kept


def main():
    module = AnsibleModule(
        argument_spec={
            "dir": {"type": "path", "required": True},
            "ca_dir": {"type": "path"},
            "authorities": {"type": "list", "elements": "dict", "default": []},
            "certificates": {"type": "list", "elements": "dict", "default": []},
            "service_account_key": {"type": "bool", "default": False},
            "ca_valid_days": {"type": "int", "default": 3650},
            "cert_valid_days": {"type": "int", "default": 365},
            "renew_before_days": {"type": "int", "default": 30},
        },
        supports_check_mode=True,
    )
    if x509 is None:
        module.fail_json(msg=missing_required_lib("cryptography"))
    try:
        written = Issuer(module.params, module.check_mode).run()
    except (ValueError, KeyError, OSError) as error:
        module.fail_json(msg=f"cannot issue the PKI in {module.params['dir']}: {error}")
    module.exit_json(changed=bool(written), written=written)


if __name__ == "__main__":
    main()
