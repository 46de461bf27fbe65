"""ALB's listener attributes (`ListenerAttributes: [{Key, Value}]` on an
AWS::ElasticLoadBalancingV2::Listener; the keys of `modify-listener-attributes`): HTTP header
modification. Every key ALB defines for an HTTP/HTTPS listener is applied; any other is refused.

ALB's documentation ("HTTP header modification"): a response header attribute with a value is
added to every response, and when the target's response has that header already, ALB updates
its value to the configured one; an empty value (the default) leaves responses alone. The
mTLS/TLS request headers ALB adds can be renamed on HTTPS listeners only.
"""

from __future__ import annotations

import re
from typing import Any

from albauth.config.attributes import attribute_items
from albauth.config.checker import Checker
from albauth.config.model import ListenerAttributes

_RESPONSE = "routing.http.response."
# Attribute -> the response header it sets.
RESPONSE_HEADERS = {
    f"{_RESPONSE}strict_transport_security.header_value": "Strict-Transport-Security",
    f"{_RESPONSE}access_control_allow_origin.header_value": "Access-Control-Allow-Origin",
    f"{_RESPONSE}access_control_allow_methods.header_value": "Access-Control-Allow-Methods",
    f"{_RESPONSE}access_control_allow_headers.header_value": "Access-Control-Allow-Headers",
    f"{_RESPONSE}access_control_allow_credentials.header_value": "Access-Control-Allow-Credentials",
    f"{_RESPONSE}access_control_expose_headers.header_value": "Access-Control-Expose-Headers",
    f"{_RESPONSE}access_control_max_age.header_value": "Access-Control-Max-Age",
    f"{_RESPONSE}content_security_policy.header_value": "Content-Security-Policy",
    f"{_RESPONSE}x_content_type_options.header_value": "X-Content-Type-Options",
    f"{_RESPONSE}x_frame_options.header_value": "X-Frame-Options",
}
SERVER_ENABLED = f"{_RESPONSE}server.enabled"
# Attribute -> the request header ALB adds (HTTPS listeners), which it renames.
REQUEST_HEADER_NAMES = {
    "routing.http.request.x_amzn_mtls_clientcert_serial_number.header_name": "X-Amzn-Mtls-Clientcert-Serial-Number",
    "routing.http.request.x_amzn_mtls_clientcert_issuer.header_name": "X-Amzn-Mtls-Clientcert-Issuer",
    "routing.http.request.x_amzn_mtls_clientcert_subject.header_name": "X-Amzn-Mtls-Clientcert-Subject",
    "routing.http.request.x_amzn_mtls_clientcert_validity.header_name": "X-Amzn-Mtls-Clientcert-Validity",
    "routing.http.request.x_amzn_mtls_clientcert_leaf.header_name": "X-Amzn-Mtls-Clientcert-Leaf",
    "routing.http.request.x_amzn_mtls_clientcert.header_name": "X-Amzn-Mtls-Clientcert",
    "routing.http.request.x_amzn_tls_version.header_name": "X-Amzn-Tls-Version",
    "routing.http.request.x_amzn_tls_cipher_suite.header_name": "X-Amzn-Tls-Cipher-Suite",
}
KNOWN = frozenset({*RESPONSE_HEADERS, SERVER_ENABLED, *REQUEST_HEADER_NAMES})
_METHODS = frozenset({"GET", "HEAD", "POST", "DELETE", "CONNECT", "OPTIONS", "PUT", "TRACE", "PATCH"})
_TOKEN = re.compile(r"[-A-Za-z0-9]{1,40}").fullmatch
_FRAME = re.compile(r"DENY|SAMEORIGIN|ALLOW-FROM https?://\S+").fullmatch


def parse_listener_attributes(c: Checker, raw: Any, path: str, protocol: str) -> ListenerAttributes:
    headers: list[tuple[str, str]] = []
    names: list[tuple[str, str]] = []
    server = True
    for ip, key, item in attribute_items(c, raw, path, KNOWN,
                                         "is not an Application Load Balancer listener attribute"):
        value = item.get("Value")
        vp = f"{ip}.Value"
        if key == SERVER_ENABLED:
            server = _boolean(c, value, vp, server)
        elif key in RESPONSE_HEADERS:
            checked = _response_value(c, RESPONSE_HEADERS[key], value, vp)
            if checked:  # empty: ALB leaves the header alone
                headers.append((RESPONSE_HEADERS[key], checked))
        else:
            renamed = _header_name(c, value, vp, protocol)
            if renamed:
                names.append((REQUEST_HEADER_NAMES[key], renamed))
    return ListenerAttributes(tuple(headers), server, tuple(names))


def _boolean(c: Checker, value: Any, path: str, default: bool) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    c.issue(path, f'must be "true" or "false" (got {value!r})')
    return default


def _response_value(c: Checker, header: str, value: Any, path: str) -> str | None:
    """The value when it is one ALB documents for the header; empty or None: not set."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not value.isascii() or not value.isprintable():
        c.issue(path, "must be printable ASCII text (a header value: no line breaks)")
        return None
    problem = _value_problem(header, value.strip())
    if problem:
        c.issue(path, problem)
        return None
    return value.strip()


def _value_problem(header: str, value: str) -> str | None:
    if header == "Access-Control-Allow-Credentials" and value != "true":
        return "Access-Control-Allow-Credentials takes true only"
    if header == "Access-Control-Max-Age" and not (value.isdigit() and int(value) <= 86400):
        return "Access-Control-Max-Age takes a number of seconds, 0-86400"
    if header == "X-Content-Type-Options" and value != "nosniff":
        return "X-Content-Type-Options takes nosniff only"
    if header == "X-Frame-Options" and not _FRAME(value):
        return "X-Frame-Options takes DENY, SAMEORIGIN or ALLOW-FROM <https URL>"
    if header == "Access-Control-Allow-Methods":
        unknown = {m.strip() for m in value.split(",")} - _METHODS
        if unknown:
            return f"not methods ALB accepts here: {', '.join(sorted(unknown))} (give {', '.join(sorted(_METHODS))})"
    return None


def _header_name(c: Checker, value: Any, path: str, protocol: str) -> str | None:
    if protocol != "HTTPS":
        c.issue(path, "renames an mTLS/TLS header, which ALB adds on HTTPS listeners only")
        return None
    if not isinstance(value, str) or not _TOKEN(value):
        c.issue(path, "must be a header name: letters, digits and hyphens, at most 40 characters")
        return None
    return value
