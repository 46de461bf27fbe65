"""Parsing and validation of the authenticate-oidc and authenticate-cognito actions (spec 1),
with albauth's extensions in the action's nested `albauth:` block."""

from __future__ import annotations

import json
import re
from typing import Any

from albauth.config.checker import Checker
from albauth.config.cognito import ARN_SHAPE, cognito_endpoints, parse_user_pool_arn, user_pool_domain_problem
from albauth.config.model import AuthenticateConfig

MAX_SESSION_TIMEOUT = 604800  # 7 days, ALB's default and maximum
_COOKIE_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_EXTRA_PARAM_KEY = re.compile(r"^[a-zA-Z0-9]+$")
_COMMON_AUTH_KEYS = frozenset({"SessionCookieName", "Scope", "SessionTimeout", "AuthenticationRequestExtraParams",
                               "OnUnauthenticatedRequest"})
_OIDC_KEYS = _COMMON_AUTH_KEYS | {"Issuer", "AuthorizationEndpoint", "TokenEndpoint", "UserInfoEndpoint",
                                  "ClientId", "ClientSecret", "UseExistingClientSecret"}
_COGNITO_KEYS = _COMMON_AUTH_KEYS | {"UserPoolArn", "UserPoolClientId", "UserPoolDomain"}
_EXTENSION_KEYS = frozenset({"client_auth", "pkce", "nonce", "jwks_uri", "idp_timeout", "client_secret", "issuer",
                             "authorization_endpoint", "token_endpoint", "userinfo_endpoint", "logout_endpoint",
                             "logout_path", "post_logout_redirect_uri", "backchannel_logout_path",
                             "logout_allow_cross_site_get", "claims_source", "xhr_401", "allow_cors_preflight",
                             "redirect_loop_limit", "redirect_loop_window", "static_identity",
                             "static_identity_header"})
# The Cognito URLs a local stand-in (cognito-local, the built-in provider) may override.
_COGNITO_OVERRIDES = ("issuer", "authorization_endpoint", "token_endpoint", "userinfo_endpoint", "logout_endpoint")


def _common_auth_fields(c: Checker, cfg: dict[str, Any], p: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    name = c.string(cfg.get("SessionCookieName", "AWSELBAuthSessionCookie"), f"{p}.SessionCookieName")
    if name is not None and not _COOKIE_NAME.match(name):
        c.issue(f"{p}.SessionCookieName", "is not a valid cookie name")
    out["session_cookie_name"] = name or "AWSELBAuthSessionCookie"
    out["scope"] = c.string(cfg.get("Scope", "openid"), f"{p}.Scope") or "openid"
    # CloudFormation types SessionTimeout as a String in Listener default actions.
    timeout = c.integer(cfg.get("SessionTimeout", MAX_SESSION_TIMEOUT), f"{p}.SessionTimeout",
                        1, MAX_SESSION_TIMEOUT, allow_numeric_string=True)
    out["session_timeout"] = timeout or MAX_SESSION_TIMEOUT
    extra = _extra_params(c, cfg.get("AuthenticationRequestExtraParams") or {},
                          f"{p}.AuthenticationRequestExtraParams")
    if extra is not None:
        out["extra_params"] = extra
    out["on_unauthenticated"] = c.choice(
        cfg.get("OnUnauthenticatedRequest", "authenticate"), f"{p}.OnUnauthenticatedRequest",
        ("authenticate", "deny", "allow"), "must be authenticate, deny or allow") or "authenticate"
    return out


def _extra_params(c: Checker, extra: Any, p: str) -> tuple[tuple[str, str], ...] | None:
    if not c.mapping(extra, p):
        return None
    if len(extra) > 10:
        c.issue(p, f"ALB allows at most 10 extra parameters (got {len(extra)})")
    for k, v in extra.items():
        if not _EXTRA_PARAM_KEY.match(str(k)):
            c.issue(f"{p}.{k}", "keys must match [a-zA-Z0-9]+")
        c.string(v, f"{p}.{k}", required=True)
    return tuple((str(k), str(v)) for k, v in extra.items())


def _extensions(c: Checker, item: dict[str, Any], p: str) -> dict[str, Any]:
    ext = item.get("albauth") or {}
    ep = f"{p}.albauth"
    out: dict[str, Any] = {}
    if not c.mapping(ext, ep, known=_EXTENSION_KEYS, what="setting"):
        return out
    if "client_auth" in ext and (auth := c.choice(
            ext["client_auth"], f"{ep}.client_auth", ("post", "basic"),
            "must be post (client_secret_post) or basic (client_secret_basic)")):
        out["client_auth"] = auth
    for flag in ("pkce", "nonce"):
        if flag in ext:
            out[flag] = c.boolean(ext[flag], f"{ep}.{flag}")
    if "idp_timeout" in ext:
        out["idp_timeout"] = c.number(ext["idp_timeout"], f"{ep}.idp_timeout", 0.1, 300)
    for key in ("jwks_uri", "logout_endpoint", "post_logout_redirect_uri"):
        if key in ext:
            out[key] = c.url(ext[key], f"{ep}.{key}")
    _logout_paths(c, ext, ep, out)
    _single_page_apps(c, ext, ep, out)
    _static_identity(c, ext, ep, out)
    return out


def _static_identity(c: Checker, ext: dict[str, Any], ep: str, out: dict[str, Any]) -> None:
    """`static_identity: {alice: {sub: ..., email: ...}, bob: {...}}`: fixed users for an app's
    test suite; `static_identity_header` lets a request pick one by name."""
    raw = ext.get("static_identity")
    if raw is None:
        if "static_identity_header" in ext:
            c.issue(f"{ep}.static_identity_header", "applies only with static_identity")
        return
    if not c.mapping(raw, f"{ep}.static_identity", required=True) or not raw:
        c.issue(f"{ep}.static_identity", "must map user names to their claims, e.g. {alice: {sub: alice}}")
        return
    users: list[tuple[str, str]] = []
    for name, claims in raw.items():
        up = f"{ep}.static_identity.{name}"
        if not c.mapping(claims, up, required=True):
            continue
        if not isinstance(claims.get("sub"), str) or not claims["sub"]:
            c.issue(f"{up}.sub", "is required: the user's subject, a string")
            continue
        users.append((str(name), json.dumps(claims, separators=(",", ":"))))
    out["static_identity"] = tuple(users)
    if "static_identity_header" in ext:
        out["static_identity_header"] = c.string(ext["static_identity_header"], f"{ep}.static_identity_header")


def _single_page_apps(c: Checker, ext: dict[str, Any], ep: str, out: dict[str, Any]) -> None:
    """Opt-ins for APIs and single-page apps; each default is ALB's behaviour."""
    if "claims_source" in ext and (source := c.choice(
            ext["claims_source"], f"{ep}.claims_source", ("userinfo", "id_token", "merge"),
            "must be userinfo (ALB), id_token or merge")):
        out["claims_source"] = source
    for flag in ("xhr_401", "allow_cors_preflight"):
        if flag in ext:
            out[flag] = c.boolean(ext[flag], f"{ep}.{flag}")
    if "redirect_loop_limit" in ext:
        out["redirect_loop_limit"] = c.integer(ext["redirect_loop_limit"], f"{ep}.redirect_loop_limit", 0, 100)
    if "redirect_loop_window" in ext:
        out["redirect_loop_window"] = c.number(ext["redirect_loop_window"], f"{ep}.redirect_loop_window", 1, 3600)


def _logout_paths(c: Checker, ext: dict[str, Any], ep: str, out: dict[str, Any]) -> None:
    """albauth's opt-in logout routes (ALB has none, spec 3.2): absolute paths of their own."""
    for key in ("logout_path", "backchannel_logout_path"):
        path = c.string(ext.get(key), f"{ep}.{key}")
        if path is None:
            continue
        if not path.startswith("/") or "?" in path or "#" in path:
            c.issue(f"{ep}.{key}", "must be an absolute path, e.g. /oauth2/logout")
        elif path == "/oauth2/idpresponse":
            c.issue(f"{ep}.{key}", "must not be the login callback /oauth2/idpresponse")
        else:
            out[key] = path
    if out.get("logout_path") and out["logout_path"] == out.get("backchannel_logout_path"):
        c.issue(f"{ep}.backchannel_logout_path", "must differ from logout_path")
    if "logout_allow_cross_site_get" in ext:
        allow = c.boolean(ext["logout_allow_cross_site_get"], f"{ep}.logout_allow_cross_site_get")
        if allow and "logout_path" not in ext:
            c.issue(f"{ep}.logout_allow_cross_site_get", "applies only with logout_path")
        out["logout_allow_cross_site_get"] = allow
    if "logout_path" in out and "post_logout_redirect_uri" not in ext:
        c.issue(f"{ep}.post_logout_redirect_uri",
                "is required with logout_path: where the provider sends the user after logout "
                "(a page not behind an authenticate rule)")


def parse_oidc(c: Checker, item: dict[str, Any], p: str) -> AuthenticateConfig | None:
    cp = f"{p}.AuthenticateOidcConfig"
    cfg = item.get("AuthenticateOidcConfig")
    if not c.mapping(cfg, cp, required=True, known=_OIDC_KEYS):
        return None
    issuer = c.url(cfg.get("Issuer"), f"{cp}.Issuer", required=True)
    endpoints: dict[str, Any] = {
        key: c.url(cfg.get(field), f"{cp}.{field}")
        for key, field in (("authorization_endpoint", "AuthorizationEndpoint"),
                           ("token_endpoint", "TokenEndpoint"), ("userinfo_endpoint", "UserInfoEndpoint"))}
    client_id = c.string(cfg.get("ClientId"), f"{cp}.ClientId", required=True)
    secret = c.string(cfg.get("ClientSecret"), f"{cp}.ClientSecret", required=True)
    common = _common_auth_fields(c, cfg, cp)
    ext = _extensions(c, item, p)
    ext.pop("client_secret", None)
    if None in (issuer, client_id, secret):
        return None
    return AuthenticateConfig(kind="oidc", issuer=issuer or "", client_id=client_id or "",
                              client_secret=secret or "", **endpoints, **common, **ext)


def parse_cognito(c: Checker, item: dict[str, Any], p: str) -> AuthenticateConfig | None:
    cp = f"{p}.AuthenticateCognitoConfig"
    cfg = item.get("AuthenticateCognitoConfig")
    if not c.mapping(cfg, cp, required=True, known=_COGNITO_KEYS):
        return None
    arn = c.string(cfg.get("UserPoolArn"), f"{cp}.UserPoolArn", required=True)
    client_id = c.string(cfg.get("UserPoolClientId"), f"{cp}.UserPoolClientId", required=True)
    domain = c.string(cfg.get("UserPoolDomain"), f"{cp}.UserPoolDomain", required=True)
    common = _common_auth_fields(c, cfg, cp)
    pool = parse_user_pool_arn(arn or "")
    if arn and not pool:
        c.issue(f"{cp}.UserPoolArn", f"must look like {ARN_SHAPE}")
    if domain and (problem := user_pool_domain_problem(domain)):
        c.issue(f"{cp}.UserPoolDomain", problem)
        domain = None
    ext_raw = item.get("albauth") or {}
    ext_raw = ext_raw if isinstance(ext_raw, dict) else {}
    ext = _extensions(c, item, p)
    secret = c.string(ext_raw.get("client_secret"), f"{p}.albauth.client_secret", required=True,
                      hint="ALB reads the app client's secret from Cognito itself; albauth cannot, so give it here")
    if not (pool and client_id and domain and secret):
        return None
    derived: dict[str, Any] = cognito_endpoints(pool.region, pool.pool_id, domain)
    for key in _COGNITO_OVERRIDES:
        override = ext_raw.get(key)
        if override is not None:
            derived[key] = c.url(override, f"{p}.albauth.{key}") or derived[key]
    ext.pop("client_secret", None)
    ext.pop("logout_endpoint", None)
    return AuthenticateConfig(kind="cognito", client_id=client_id, client_secret=secret,
                              **derived, **common, **ext)
