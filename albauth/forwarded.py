"""The headers a forwarded request carries under ALB's load-balancer attributes (spec 5.3):
X-Forwarded-For by `routing.http.xff_header_processing.mode` and `xff_client_port.enabled`,
Host by `preserve_host_header.enabled`, and X-Amzn-Tls-Version / -Cipher-Suite by
`x_amzn_tls_version_and_cipher_suite.enabled` (named as the listener's attributes rename them).
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Sequence

from aiohttp import web
from multidict import CIMultiDict

from albauth.config.model import ListenerAttributes, ProxySettings
from albauth.mtls import client_certificate_headers
from albauth.proxy import upstream_request_headers
from albauth.rules import host_for_rules

__all__ = ["forwarded_for", "forwarded_request_headers", "target_host"]

_DEFAULT_PORTS = ("80", "443")


def forwarded_for(xff: str | None, peer: str, peer_port: int | None, settings: ProxySettings) -> str | None:
    """The X-Forwarded-For value for the target, or None for none. `append` (ALB's default)
    adds the client's address, with `:port` (`[v6]:port`) when xff_client_port is on;
    `preserve` sends the client's value as it came (none when it sent none); `remove` none."""
    if settings.xff_mode == "remove":
        return None
    if settings.xff_mode == "preserve":
        return xff
    client = peer
    if settings.xff_client_port and peer_port is not None:
        client = f"[{peer}]:{peer_port}" if ":" in peer else f"{peer}:{peer_port}"
    return f"{xff}, {client}" if xff else client


def target_host(host: str | None, listener_port: str) -> str | None:
    """ALB's Host for the target while preserve_host_header is off (its default): on listener
    ports 80 and 443 without a port; on others with the listener's port unless the client gave
    one (AWS: "we append the port number to the host header if it isn't already appended")."""
    if host is None:
        return None
    name = host_for_rules(host)
    if listener_port in _DEFAULT_PORTS:
        return name
    return host if name != host else f"{name}:{listener_port}"


def _tls_headers(request: web.BaseRequest, attributes: ListenerAttributes) -> list[tuple[str, str]]:
    """As ALB writes them: `TLSv1.2` and the OpenSSL cipher name (`ECDHE-RSA-AES128-GCM-SHA256`)."""
    transport = request.transport
    tls = transport.get_extra_info("ssl_object") if transport is not None else None
    if not isinstance(tls, ssl.SSLObject | ssl.SSLSocket):
        return []
    version, cipher = tls.version(), tls.cipher()
    out = []
    if version:
        out.append((attributes.request_header_name("X-Amzn-Tls-Version"), version))
    if cipher:
        out.append((attributes.request_header_name("X-Amzn-Tls-Cipher-Suite"), cipher[0]))
    return out


def forwarded_request_headers(request: web.BaseRequest, *, xff: str | None, proto: str, port: str,
                              auth_headers: Sequence[tuple[str, str]], settings: ProxySettings,
                              attributes: ListenerAttributes,
                              rewrite_host: Callable[[str | None], str | None] | None = None,
                              mutual_tls: bool = False) -> CIMultiDict[str]:
    """`rewrite_host`: the rule's host-header-rewrite, given the Host the target would get."""
    peer = request.remote or ""
    peername = request.transport.get_extra_info("peername") if request.transport is not None else None
    peer_port = peername[1] if isinstance(peername, tuple) and len(peername) > 1 else None
    inbound_host = request.headers.get("Host")
    host = inbound_host if settings.preserve_host_header else target_host(inbound_host, port)
    if rewrite_host is not None:
        host = rewrite_host(host)
    out = upstream_request_headers(
        request, forwarded_for=forwarded_for(xff, peer, peer_port, settings), proto=proto, port=port,
        auth_headers=auth_headers, drop_invalid_header_fields=settings.drop_invalid_header_fields, host=host)
    if mutual_tls:
        for name, value in client_certificate_headers(request, attributes):
            out[name] = value  # replaces a client's copy of a renamed header
    if settings.tls_version_and_cipher_headers:
        for name, value in _tls_headers(request, attributes):
            out[name] = value  # replaces a client's copy: ALB's value, never the client's
    return out
