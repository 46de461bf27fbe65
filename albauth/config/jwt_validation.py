"""Parsing ALB's `jwt-validation` action (ELBv2 `JwtValidationConfig`, CloudFormation
`JwtValidationConfig`), with ALB's load-time limits: Issuer and JwksEndpoint up to 256
characters, the endpoint over HTTPS, at most 10 additional claims of 10 values each (up to
256 characters; no spaces for space-separated-values), and never exp/iss/nbf/iat, which
are always checked."""

from __future__ import annotations

from typing import Any, cast
from urllib.parse import urlsplit

from albauth.config.checker import Checker
from albauth.config.loopback import host_is_loopback
from albauth.config.model import AdditionalClaim, ClaimFormat, JwtValidationConfig

__all__ = ["parse_jwt_validation"]

_KEYS = frozenset({"JwksEndpoint", "Issuer", "AdditionalClaims"})
_CLAIM_KEYS = frozenset({"Format", "Name", "Values"})
_EXTENSION_KEYS = frozenset({"algorithms"})
_FORMATS = ("single-string", "string-array", "space-separated-values")
_ALWAYS_CHECKED = frozenset({"exp", "iss", "nbf", "iat"})
# RS256 is ALB's only algorithm; the others are albauth's opt-in extension.
_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384")


def parse_jwt_validation(c: Checker, item: dict[str, Any], p: str) -> JwtValidationConfig | None:
    cp = f"{p}.JwtValidationConfig"
    cfg = item.get("JwtValidationConfig")
    if not c.mapping(cfg, cp, known=_KEYS):
        if cfg is None:
            c.issue(cp, "is required for a jwt-validation action")
        return None
    endpoint = _jwks_endpoint(c, cfg.get("JwksEndpoint"), f"{cp}.JwksEndpoint")
    issuer = c.string(cfg.get("Issuer"), f"{cp}.Issuer", required=True)
    if issuer is not None and len(issuer) > 256:
        c.issue(f"{cp}.Issuer", "ALB allows at most 256 characters")
    claims = _additional_claims(c, cfg.get("AdditionalClaims"), f"{cp}.AdditionalClaims")
    algorithms = _algorithms(c, item.get("albauth"), f"{p}.albauth")
    if endpoint is None or issuer is None or claims is None or algorithms is None:
        return None
    return JwtValidationConfig(endpoint, issuer, claims, algorithms)


def _jwks_endpoint(c: Checker, raw: Any, path: str) -> str | None:
    url = c.url(raw, path, required=True)
    if url is None:
        return None
    if len(url) > 256:
        c.issue(path, "ALB allows at most 256 characters")
        return None
    parts = urlsplit(url)
    if parts.scheme != "https" and not host_is_loopback(parts.hostname or ""):
        # ALB requires HTTPS; a provider on this machine (local development) may use HTTP.
        c.issue(path, "must be an https:// URL, as ALB requires (http:// only for a loopback host)")
        return None
    return url


def _additional_claims(c: Checker, raw: Any, path: str) -> tuple[AdditionalClaim, ...] | None:
    if raw is None:
        return ()
    items = c.list_of(raw, path)
    if len(items) > 10:
        c.issue(path, "ALB allows at most 10 additional claims")
        return None
    out: list[AdditionalClaim] = []
    for i, item in enumerate(items):
        claim = _claim(c, item, f"{path}[{i}]")
        if claim is None:
            return None
        out.append(claim)
    return tuple(out)


def _claim(c: Checker, item: Any, p: str) -> AdditionalClaim | None:
    if not c.mapping(item, p, known=_CLAIM_KEYS):
        return None
    fmt = item.get("Format")
    if fmt not in _FORMATS:
        c.issue(f"{p}.Format", f"must be one of {', '.join(_FORMATS)} (got {fmt!r})")
        return None
    name = c.string(item.get("Name"), f"{p}.Name", required=True)
    if name in _ALWAYS_CHECKED:
        c.issue(f"{p}.Name", "exp, iss, nbf and iat are always checked and cannot be an additional claim")
        return None
    values = [c.string(v, f"{p}.Values[{j}]", required=True) for j, v in enumerate(c.list_of(
        item.get("Values"), f"{p}.Values", required=True))]
    if not values or len(values) > 10:
        c.issue(f"{p}.Values", "needs 1 to 10 values, as ALB allows")
        return None
    for j, value in enumerate(values):
        if value is not None and len(value) > 256:
            c.issue(f"{p}.Values[{j}]", "ALB allows at most 256 characters")
        elif value is not None and fmt == "space-separated-values" and " " in value:
            c.issue(f"{p}.Values[{j}]", "space-separated-values cannot contain a space")
    if name is None or any(v is None or len(v) > 256 for v in values):
        return None
    return AdditionalClaim(cast(ClaimFormat, fmt), name, tuple(v for v in values if v is not None))


def _algorithms(c: Checker, raw: Any, path: str) -> tuple[str, ...] | None:
    if raw is None:
        return ("RS256",)
    if not c.mapping(raw, path, known=_EXTENSION_KEYS):
        return None
    if "algorithms" not in raw:
        return ("RS256",)
    names = c.list_of(raw["algorithms"], f"{path}.algorithms", required=True)
    bad = [n for n in names if n not in _ALGORITHMS]
    if bad or not names:
        c.issue(f"{path}.algorithms", f"must list some of {', '.join(_ALGORITHMS)} (got {names!r})")
        return None
    return tuple(names)
