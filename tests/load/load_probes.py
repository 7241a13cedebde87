"""Small network probes used by the security tests (TLS versions, plain-HTTP redirect)."""

from __future__ import annotations

import dataclasses
import http.client
import socket
import ssl
import warnings


@dataclasses.dataclass(frozen=True)
class HandshakeOutcome:
    version: str
    accepted: bool
    negotiated: str | None
    refused_by_server: bool  # the server sent a protocol_version/handshake alert (not a client-side refusal)
    detail: str


def tls_handshake(
    address: str, port: int, server_name: str, version: ssl.TLSVersion, cafile: str, timeout: float = 5.0
) -> HandshakeOutcome:
    """Try a handshake pinned to exactly ``version``, verifying the chain against ``cafile``.

    The client is opened up to SECLEVEL=0 so that, for TLS 1.0/1.1, a failure comes from the server
    and not from this machine's OpenSSL defaults (see ``refused_by_server``).
    """
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(cafile)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        ctx.minimum_version = version
        ctx.maximum_version = version
    try:
        with (
            socket.create_connection((address, port), timeout) as raw,
            ctx.wrap_socket(raw, server_hostname=server_name) as tls,
        ):
            return HandshakeOutcome(version.name, True, tls.version(), False, tls.cipher()[0])
    except ssl.SSLError as exc:
        text = f"{exc.reason or ''} {exc}"
        server_alert = (
            any(
                marker in text.upper()
                for marker in (
                    "ALERT_PROTOCOL_VERSION",
                    "ALERT PROTOCOL VERSION",
                    "HANDSHAKE_FAILURE",
                    "UNSUPPORTED",
                )
            )
            and "NO_PROTOCOLS_AVAILABLE" not in text.upper()
        )
        return HandshakeOutcome(version.name, False, None, server_alert, text.strip())
    except (ConnectionResetError, EOFError) as exc:
        # Some servers just close the connection on a ClientHello they refuse.
        return HandshakeOutcome(version.name, False, None, True, f"{type(exc).__name__}: {exc}")


def http_get(
    address: str, port: int, host: str, path: str, timeout: float = 5.0
) -> tuple[int, dict[str, str]]:
    """Plain-HTTP GET without following redirects: (status, headers)."""
    conn = http.client.HTTPConnection(address, port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Host": host})
        response = conn.getresponse()
        response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}
    finally:
        conn.close()
