"""ALB's mutual TLS `verify` mode on an HTTPS listener: the client certificate is verified
against the trust store during the handshake (a client without a valid one never gets a
request through), and the target learns who it was from ALB's headers:

- X-Amzn-Mtls-Clientcert-Serial-Number: the serial number in hexadecimal;
- X-Amzn-Mtls-Clientcert-Issuer / -Subject: the distinguished names as RFC 2253 strings
  (`CN=client.test,O=Example,C=US`);
- X-Amzn-Mtls-Clientcert-Validity: `NotBefore=2023-09-21T01:50:17Z;NotAfter=2024-09-20T01:50:17Z`;
- X-Amzn-Mtls-Clientcert-Leaf: the certificate as URL-encoded PEM.

Each can be renamed by the listener's `routing.http.request.x_amzn_mtls_clientcert_*` attributes.
"""

from __future__ import annotations

import ssl
from urllib.parse import quote

from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from albauth.config.model import ListenerAttributes

__all__ = ["NO_CHECK_TIME", "client_certificate_headers"]

# OpenSSL's X509_V_FLAG_NO_CHECK_TIME: IgnoreClientCertificateExpiry (Python names no constant).
NO_CHECK_TIME = 0x200000
_TIME = "%Y-%m-%dT%H:%M:%SZ"


def client_certificate_headers(request: web.BaseRequest,
                               attributes: ListenerAttributes) -> list[tuple[str, str]]:
    """ALB's verify-mode headers for the connection's client certificate (none without one)."""
    transport = request.transport
    tls = transport.get_extra_info("ssl_object") if transport is not None else None
    if not isinstance(tls, ssl.SSLObject | ssl.SSLSocket):
        return []
    der = tls.getpeercert(binary_form=True)
    if not der:
        return []
    cert = x509.load_der_x509_certificate(der)
    validity = (f"NotBefore={cert.not_valid_before_utc.strftime(_TIME)};"
                f"NotAfter={cert.not_valid_after_utc.strftime(_TIME)}")
    values = [
        ("X-Amzn-Mtls-Clientcert-Serial-Number", format(cert.serial_number, "X")),
        ("X-Amzn-Mtls-Clientcert-Issuer", cert.issuer.rfc4514_string()),
        ("X-Amzn-Mtls-Clientcert-Subject", cert.subject.rfc4514_string()),
        ("X-Amzn-Mtls-Clientcert-Validity", validity),
        ("X-Amzn-Mtls-Clientcert-Leaf", quote(cert.public_bytes(Encoding.PEM).decode(), safe="")),
    ]
    return [(attributes.request_header_name(name), value) for name, value in values]
