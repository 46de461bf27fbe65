"""albauth's own sections of the document (`albauth:`): target groups, sessions, signing,
the proxy, the log level."""

from __future__ import annotations

import ipaddress
import os
import ssl
from collections.abc import Mapping
from typing import Any

from albauth.config.checker import Checker
from albauth.config.model import (
    MIN_SECRET_LENGTH,
    AccessLogSettings,
    ForwardAuthSettings,
    ProxySettings,
    SessionSettings,
    SigningSettings,
)


def log_level(c: Checker, value: Any, path: str) -> str:
    level = str(value).upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        c.issue(path, "must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return "INFO"
    return level


def parse_access_log(c: Checker, raw: Any, p: str) -> AccessLogSettings:
    if raw in (None, "off", False):
        return AccessLogSettings()
    if not c.mapping(raw, p, known=frozenset({"format", "file", "elb"})):
        return AccessLogSettings()
    fmt = str(raw.get("format", "alb"))
    if fmt not in ("alb", "json", "off"):
        c.issue(f"{p}.format", "must be alb, json or off")
        fmt = "off"
    return AccessLogSettings(format=fmt,  # type: ignore[arg-type]  # checked just above
                             file=c.string(raw.get("file"), f"{p}.file"), elb=c.string(raw.get("elb"), f"{p}.elb"))


def parse_secrets(c: Checker, raw: Any, path: str) -> tuple[str, ...]:
    if raw in (None, ""):
        return ()
    values = raw.split(",") if isinstance(raw, str) else c.list_of(raw, path)
    secrets = []
    for i, s in enumerate(values):
        s = str(s).strip()
        if len(s) < MIN_SECRET_LENGTH:
            c.issue(f"{path}[{i}]" if not isinstance(raw, str) else path,
                    f"each secret must be at least {MIN_SECRET_LENGTH} characters (one is {len(s)}); "
                    "generate one with: python -c 'import secrets; print(secrets.token_urlsafe(32))'")
        secrets.append(s)
    return tuple(secrets)


def parse_session(c: Checker, raw: Any, p: str) -> SessionSettings:
    if not c.mapping(raw, p, known=frozenset({"store", "redis_url", "secrets", "key_prefix"})):
        return SessionSettings()
    store = str(raw.get("store", "cookie"))
    redis_url = raw.get("redis_url")
    if store.startswith(("redis://", "rediss://", "unix://", "redis+sentinel://", "redis+cluster://")):
        store, redis_url = "redis", store
    if store not in ("cookie", "memory", "redis"):
        c.issue(f"{p}.store", "must be cookie, memory or a redis:// URL")
        store = "cookie"
    if store == "redis" and not redis_url:
        c.issue(f"{p}.redis_url", "is required for the redis store")
    return SessionSettings(store=store, redis_url=redis_url,  # type: ignore[arg-type]
                           secrets=parse_secrets(c, raw.get("secrets"), f"{p}.secrets"),
                           key_prefix=str(raw.get("key_prefix", "albauth:")))


def parse_signing(c: Checker, raw: Any) -> SigningSettings:
    p = "albauth.signing"
    if not c.mapping(raw, p, known=frozenset({"key_file", "signer_arn", "region", "account", "encoding",
                                              "lifetime", "reuse_seconds"})):
        return SigningSettings()
    encoding = raw.get("encoding", "alb")
    if encoding not in ("alb", "standard"):
        c.issue(f"{p}.encoding", "must be alb (padded, as ALB sends it) or standard (RFC 7515)")
        encoding = "alb"
    arn = c.string(raw.get("signer_arn"), f"{p}.signer_arn")
    if arn and not arn.startswith("arn:aws"):
        c.issue(f"{p}.signer_arn", "must be a load balancer ARN (arn:aws:elasticloadbalancing:...)")
    lifetime = c.integer(raw.get("lifetime", 120), f"{p}.lifetime", 1, 3600) or 120
    reuse = c.integer(raw.get("reuse_seconds", 30), f"{p}.reuse_seconds", 0, 3600)
    if reuse is not None and reuse >= lifetime:
        c.issue(f"{p}.reuse_seconds", "must be shorter than lifetime, or apps would get expired tokens")
    return SigningSettings(key_file=c.string(raw.get("key_file"), f"{p}.key_file"), signer_arn=arn,
                           region=str(raw.get("region", "us-east-1")),
                           account=str(raw.get("account", "123456789012")),
                           encoding=encoding, lifetime=lifetime,
                           reuse_seconds=30 if reuse is None else reuse)


_PROXY_KEYS = frozenset({"connect_timeout", "idle_timeout", "strip_oidc_headers_everywhere", "expose_error_reason",
                         "verify_target_certificates", "drop_invalid_header_fields", "reject_encoded_slash",
                         "merge_slashes", "reject_dot_segment_parameters"})
# albauth.proxy's switches and their defaults (the model's).
_PROXY_SWITCHES = {name: getattr(ProxySettings(), name) for name in (
    "strip_oidc_headers_everywhere", "expose_error_reason", "verify_target_certificates",
    "drop_invalid_header_fields", "reject_encoded_slash", "merge_slashes", "reject_dot_segment_parameters")}
MAX_LISTEN_BACKLOG = 65535
MAX_CONNECTIONS = 2**31 - 1


def parse_proxy(c: Checker, raw: Any, attributes: Mapping[str, Any] | None = None) -> ProxySettings:
    """albauth.proxy; `attributes` are the proxy settings ALB's load-balancer attributes set
    (albauth.config.attributes): given in both places, they must agree."""
    p = "albauth.proxy"
    if not c.mapping(raw, p, known=_PROXY_KEYS):
        raw = {}
    settings: dict[str, Any] = {
        name: c.boolean(raw.get(name, default), f"{p}.{name}") for name, default in _PROXY_SWITCHES.items()}
    settings["connect_timeout"] = c.number(raw.get("connect_timeout", 10), f"{p}.connect_timeout", 0.01, 600) or 10.0
    settings["idle_timeout"] = c.number(raw.get("idle_timeout", 60), f"{p}.idle_timeout", 0.01, 4000) or 60.0
    for name, value in (attributes or {}).items():
        if name in raw and settings[name] != value:
            shown = str(value).lower() if isinstance(value, bool) else value
            c.issue(f"{p}.{name}", f"contradicts LoadBalancerAttributes (which sets it {shown}): give it once")
        settings[name] = value
    return ProxySettings(**settings)


def parse_ca_file(c: Checker, raw: Any, path: str) -> str | None:
    """A PEM bundle OpenSSL can load: a wrong file fails here, not at the first login."""
    ca_file = c.string(raw, path)
    if ca_file is None:
        return None
    if not os.path.isfile(ca_file):
        c.existing_file(ca_file, path)
        return ca_file
    try:
        ssl.create_default_context(cafile=ca_file)
    except (ssl.SSLError, OSError) as exc:
        c.issue(path, f"is not a PEM CA bundle OpenSSL can read ({getattr(exc, 'reason', None) or exc})")
    return ca_file


def parse_listen_backlog(c: Checker, raw: Any, path: str) -> int:
    backlog = c.integer(raw, path, 1, MAX_LISTEN_BACKLOG)
    return 4096 if backlog is None else backlog


def parse_max_connections(c: Checker, raw: Any, path: str) -> int:
    limit = c.integer(raw, path, 1, MAX_CONNECTIONS)
    return 10000 if limit is None else limit


def parse_forward_auth(c: Checker, raw: Any) -> ForwardAuthSettings:
    p = "albauth.forward_auth"
    if not c.mapping(raw, p, known=frozenset({"enabled", "trusted_proxies", "allowed_redirect_domains"})):
        return ForwardAuthSettings()
    default = ForwardAuthSettings()
    networks = []
    for i, value in enumerate(c.list_of(raw.get("trusted_proxies"), f"{p}.trusted_proxies")):
        try:
            networks.append(ipaddress.ip_network(str(value), strict=False))
        except ValueError:
            c.issue(f"{p}.trusted_proxies[{i}]", "must be an address or CIDR block (10.0.0.0/8, ::1/128)")
    domains = []
    for i, value in enumerate(c.list_of(raw.get("allowed_redirect_domains"), f"{p}.allowed_redirect_domains")):
        domain = str(value).strip().lower()
        # A bare `.` or a scheme/path would allow far more than meant: host names only.
        if not domain.strip(".") or not domain.isascii() or any(ch in domain for ch in "/@:\\*? \t"):
            c.issue(f"{p}.allowed_redirect_domains[{i}]", "must be a host name (app.example.com) "
                                                          "or .domain for it and its subdomains")
            continue
        domains.append(domain)
    return ForwardAuthSettings(
        enabled=c.boolean(raw.get("enabled", False), f"{p}.enabled"),
        trusted_proxies=tuple(networks) if "trusted_proxies" in raw else default.trusted_proxies,
        allowed_redirect_domains=tuple(domains))
