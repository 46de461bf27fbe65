"""Environment-only mode: the common sidecar (one listener, one upstream, one authenticate
rule) built from `ALBAUTH_*` variables, with no file.

The variables are turned into the same ALB-shaped document a file would hold and validated
by the same code, so both modes accept and refuse exactly the same things; problems are
reported under the variable's name."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from albauth.config.checker import Checker
from albauth.config.errors import ConfigIssue
from albauth.config.listeners import host_is_loopback
from albauth.config.load import parse_document
from albauth.config.model import Settings

SOURCE = "environment"

# Every variable, with what it sets; the README's table is written from this.
VARIABLES: dict[str, str] = {
    "ALBAUTH_LISTEN": "host:port of the listener (default 0.0.0.0:8080)",
    "ALBAUTH_UPSTREAM": "URL of the app to forward to (required)",
    "ALBAUTH_TLS_CERT": "PEM certificate file: makes the listener HTTPS",
    "ALBAUTH_TLS_KEY": "PEM private key file for ALBAUTH_TLS_CERT",
    "ALBAUTH_TRUST_FORWARDED_PROTO": "true: behind a TLS-terminating proxy; scheme/port from X-Forwarded-Proto/-Port",
    "ALBAUTH_OIDC_ISSUER": "OpenID provider issuer URL; when set, every request needs a login",
    "ALBAUTH_OIDC_CLIENT_ID": "client id registered at the provider",
    "ALBAUTH_OIDC_CLIENT_SECRET": "client secret",
    "ALBAUTH_OIDC_AUTHORIZATION_ENDPOINT": "explicit endpoint (else OIDC discovery)",
    "ALBAUTH_OIDC_TOKEN_ENDPOINT": "explicit endpoint (else OIDC discovery)",
    "ALBAUTH_OIDC_USER_INFO_ENDPOINT": "explicit endpoint (else OIDC discovery)",
    "ALBAUTH_OIDC_SCOPE": "Scope (default openid)",
    "ALBAUTH_OIDC_CLIENT_AUTH": "post (client_secret_post, default) or basic (client_secret_basic)",
    "ALBAUTH_OIDC_EXTRA_PARAMS": 'AuthenticationRequestExtraParams as a JSON object, e.g. {"prompt":"login"}',
    "ALBAUTH_OIDC_PKCE": "true: send PKCE S256 (hardening; ALB does not)",
    "ALBAUTH_OIDC_NONCE": "true: send and check an OIDC nonce (hardening; ALB does not)",
    "ALBAUTH_LOGOUT_PATH": "opt-in logout route answered by albauth, e.g. /oauth2/logout (ALB has none)",
    "ALBAUTH_POST_LOGOUT_REDIRECT_URI":
        "where the provider sends the user after logout (required with ALBAUTH_LOGOUT_PATH)",
    "ALBAUTH_BACKCHANNEL_LOGOUT_PATH": "opt-in OIDC Back-Channel Logout receiver, e.g. /oauth2/backchannel-logout",
    "ALBAUTH_ON_UNAUTHENTICATED_REQUEST": "authenticate (default), deny or allow",
    "ALBAUTH_SESSION_TIMEOUT": "SessionTimeout in seconds, 1-604800 (default 604800)",
    "ALBAUTH_SESSION_COOKIE_NAME": "SessionCookieName (default AWSELBAuthSessionCookie)",
    "ALBAUTH_SESSION_STORE": "cookie (default, as ALB), memory, or a redis:// URL",
    "ALBAUTH_SESSION_SECRET": "comma-separated secrets (>= 32 chars each); the first seals, all open",
    "ALBAUTH_SIGNER_ARN": "signer ARN put in x-amzn-oidc-data",
    "ALBAUTH_SIGNING_KEY_FILE": "P-256 PEM file for x-amzn-oidc-data (created when missing)",
    "ALBAUTH_JWT_ENCODING": "alb (padded, as ALB) or standard (RFC 7515 compact JWS)",
    "ALBAUTH_ADMIN_LISTEN": "host:port of the admin listener (default 127.0.0.1:9901; 'off' disables)",
    "ALBAUTH_LOG_LEVEL": "DEBUG, INFO (default), WARNING, ERROR",
}

_TG = "upstream"
# Problems whose file-mode message speaks of file settings: env-only mode names the
# variable to change and says what to set instead.
_ENV_MESSAGES: dict[str, tuple[str, str]] = {
    "listeners[0].DefaultActions[0].Type": (
        "ALBAUTH_OIDC_ISSUER",
        "ALB accepts authenticate actions only on HTTPS listeners: set ALBAUTH_TLS_CERT and ALBAUTH_TLS_KEY, "
        "or ALBAUTH_TRUST_FORWARDED_PROTO=true behind a TLS-terminating proxy, or listen on loopback "
        "(ALBAUTH_LISTEN=127.0.0.1:8080) for local development"),
    "albauth.session.redis_url": (
        "ALBAUTH_SESSION_STORE", "give the Redis URL itself, e.g. redis://localhost:6379/0"),
}


def load_env(env: Mapping[str, str]) -> Settings:
    c = Checker(SOURCE)
    origin: dict[str, str] = {}  # document key path -> variable, to name the variable in errors

    def get(var: str, path: str, default: str | None = None) -> str | None:
        value = env.get(var)
        origin[path] = var
        return default if value in (None, "") else value

    listen = c.host_port(get("ALBAUTH_LISTEN", "listen", "0.0.0.0:8080"), "ALBAUTH_LISTEN") or ("0.0.0.0", 8080)
    upstream = get("ALBAUTH_UPSTREAM", "albauth.target_groups.upstream.targets[0]")
    if not upstream:
        c.issue("ALBAUTH_UPSTREAM", "is required: the URL of the app to put behind albauth, e.g. http://127.0.0.1:3000")
    cert = get("ALBAUTH_TLS_CERT", "listeners[0].albauth.certificate_file")
    key = get("ALBAUTH_TLS_KEY", "listeners[0].albauth.key_file")
    if bool(cert) != bool(key):
        c.issue("ALBAUTH_TLS_CERT" if key else "ALBAUTH_TLS_KEY", "ALBAUTH_TLS_CERT and ALBAUTH_TLS_KEY go together")
    https = bool(cert and key)
    trust = get("ALBAUTH_TRUST_FORWARDED_PROTO", "listeners[0].albauth.trust_forwarded_proto", "false")
    local_dev = not https and host_is_loopback(listen[0])

    forward: dict[str, Any] = {"Type": "forward", "Order": 2, "TargetGroupArn": _TG}
    actions: list[dict[str, Any]] = [forward]
    issuer = get("ALBAUTH_OIDC_ISSUER", "listeners[0].DefaultActions[0].AuthenticateOidcConfig.Issuer")
    if issuer:
        a = "listeners[0].DefaultActions[0]"
        cfg: dict[str, Any] = {"Issuer": issuer}
        for field, var, default in (
            ("ClientId", "ALBAUTH_OIDC_CLIENT_ID", None),
            ("ClientSecret", "ALBAUTH_OIDC_CLIENT_SECRET", None),
            ("AuthorizationEndpoint", "ALBAUTH_OIDC_AUTHORIZATION_ENDPOINT", None),
            ("TokenEndpoint", "ALBAUTH_OIDC_TOKEN_ENDPOINT", None),
            ("UserInfoEndpoint", "ALBAUTH_OIDC_USER_INFO_ENDPOINT", None),
            ("Scope", "ALBAUTH_OIDC_SCOPE", None),
            ("OnUnauthenticatedRequest", "ALBAUTH_ON_UNAUTHENTICATED_REQUEST", None),
            ("SessionTimeout", "ALBAUTH_SESSION_TIMEOUT", None),
            ("SessionCookieName", "ALBAUTH_SESSION_COOKIE_NAME", None),
        ):
            value = get(var, f"{a}.AuthenticateOidcConfig.{field}", default)
            if value is not None:
                cfg[field] = value
        extra = get("ALBAUTH_OIDC_EXTRA_PARAMS", f"{a}.AuthenticateOidcConfig.AuthenticationRequestExtraParams")
        if extra:
            try:
                parsed = json.loads(extra)
            except ValueError as exc:
                c.issue("ALBAUTH_OIDC_EXTRA_PARAMS", f"is not valid JSON: {exc}")
            else:
                if isinstance(parsed, dict):
                    cfg["AuthenticationRequestExtraParams"] = parsed
                else:
                    c.issue("ALBAUTH_OIDC_EXTRA_PARAMS", 'must be a JSON object, e.g. {"prompt":"login"}')
        ext: dict[str, Any] = {}
        for name, var in (("client_auth", "ALBAUTH_OIDC_CLIENT_AUTH"), ("pkce", "ALBAUTH_OIDC_PKCE"),
                          ("nonce", "ALBAUTH_OIDC_NONCE"), ("logout_path", "ALBAUTH_LOGOUT_PATH"),
                          ("post_logout_redirect_uri", "ALBAUTH_POST_LOGOUT_REDIRECT_URI"),
                          ("backchannel_logout_path", "ALBAUTH_BACKCHANNEL_LOGOUT_PATH")):
            value = get(var, f"{a}.albauth.{name}")
            if value is not None:
                ext[name] = value
        actions.insert(0, {"Type": "authenticate-oidc", "Order": 1, "AuthenticateOidcConfig": cfg, "albauth": ext})
    listener_ext: dict[str, Any] = {"address": listen[0], "trust_forwarded_proto": trust,
                                    "local_development": local_dev}
    if https:
        listener_ext.update(certificate_file=cert, key_file=key)
    signing: dict[str, Any] = {}
    for name, var in (("signer_arn", "ALBAUTH_SIGNER_ARN"), ("key_file", "ALBAUTH_SIGNING_KEY_FILE"),
                      ("encoding", "ALBAUTH_JWT_ENCODING")):
        value = get(var, f"albauth.signing.{name}")
        if value is not None:
            signing[name] = value
    session: dict[str, Any] = {"store": get("ALBAUTH_SESSION_STORE", "albauth.session.store", "cookie")}
    secrets = get("ALBAUTH_SESSION_SECRET", "albauth.session.secrets")
    if secrets:
        session["secrets"] = secrets
    doc = {
        "albauth": {
            "admin_listen": get("ALBAUTH_ADMIN_LISTEN", "albauth.admin_listen", "127.0.0.1:9901"),
            "log_level": get("ALBAUTH_LOG_LEVEL", "albauth.log_level", "INFO"),
            "session": session,
            "signing": signing,
            "target_groups": {_TG: {"targets": [upstream]}} if upstream else {},
        },
        "listeners": [{
            "Protocol": "HTTPS" if https else "HTTP",
            "Port": listen[1],
            "albauth": listener_ext,
            "DefaultActions": actions,
        }],
    }
    origin["listeners[0].Port"] = "ALBAUTH_LISTEN"
    settings = parse_document(c, doc) if upstream else None
    if c.issues:
        from albauth.config.errors import ConfigError

        raise ConfigError([_rename(i, origin) for i in c.issues])
    assert settings is not None
    return settings


def _rename(issue: ConfigIssue, origin: dict[str, str]) -> ConfigIssue:
    key = issue.key
    if key in _ENV_MESSAGES:
        return ConfigIssue(SOURCE, *_ENV_MESSAGES[key])
    for path, var in origin.items():
        if key == path or key.startswith(path + ".") or key.startswith(path + "["):
            return ConfigIssue(SOURCE, var, issue.message)
    return issue
