"""Environment-only mode: the common sidecar (one listener, one upstream, one authenticate
rule) built from `ALBAUTH_*` variables, with no file.

The variables are turned into the same ALB-shaped document a file would hold and validated
by the same code, so both modes accept and refuse exactly the same things; problems are
reported under the variable's name."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from albauth.config.checker import Checker
from albauth.config.errors import ConfigError, ConfigIssue
from albauth.config.load import parse_document
from albauth.config.loopback import host_is_loopback
from albauth.config.model import Settings

SOURCE = "environment"
_TG = "upstream"
_LISTENER = "listeners[0]"
_AUTH = f"{_LISTENER}.DefaultActions[0]"  # the authenticate action, when ALBAUTH_OIDC_ISSUER is set
_OIDC = f"{_AUTH}.AuthenticateOidcConfig"


@dataclass(frozen=True)
class EnvVariable:
    name: str
    help: str
    # Where the value goes in the document (its problems are reported under the variable's
    # name); None: a named step of `load_env` places it.
    key: str | None = None
    oidc: bool = False  # read only with ALBAUTH_OIDC_ISSUER (part of the authenticate action)


# Every variable, once: drives `load_env` and the listing below (the README's table is written from it).
ENV_VARIABLES: tuple[EnvVariable, ...] = (
    EnvVariable("ALBAUTH_LISTEN", "host:port of the listener (default 0.0.0.0:8080)"),
    EnvVariable("ALBAUTH_UPSTREAM", "URL of the app to forward to (required)"),
    EnvVariable("ALBAUTH_TLS_CERT", "PEM certificate file: makes the listener HTTPS"),
    EnvVariable("ALBAUTH_TLS_KEY", "PEM private key file for ALBAUTH_TLS_CERT"),
    EnvVariable("ALBAUTH_TRUST_FORWARDED_PROTO",
                "true: behind a TLS-terminating proxy; scheme/port from X-Forwarded-Proto/-Port",
                f"{_LISTENER}.albauth.trust_forwarded_proto"),
    EnvVariable("ALBAUTH_OIDC_ISSUER", "OpenID provider issuer URL; when set, every request needs a login",
                f"{_OIDC}.Issuer", oidc=True),
    EnvVariable("ALBAUTH_OIDC_CLIENT_ID", "client id registered at the provider", f"{_OIDC}.ClientId", oidc=True),
    EnvVariable("ALBAUTH_OIDC_CLIENT_SECRET", "client secret", f"{_OIDC}.ClientSecret", oidc=True),
    EnvVariable("ALBAUTH_OIDC_AUTHORIZATION_ENDPOINT", "explicit endpoint (else OIDC discovery)",
                f"{_OIDC}.AuthorizationEndpoint", oidc=True),
    EnvVariable("ALBAUTH_OIDC_TOKEN_ENDPOINT", "explicit endpoint (else OIDC discovery)",
                f"{_OIDC}.TokenEndpoint", oidc=True),
    EnvVariable("ALBAUTH_OIDC_USER_INFO_ENDPOINT", "explicit endpoint (else OIDC discovery)",
                f"{_OIDC}.UserInfoEndpoint", oidc=True),
    EnvVariable("ALBAUTH_OIDC_SCOPE", "Scope (default openid)", f"{_OIDC}.Scope", oidc=True),
    EnvVariable("ALBAUTH_OIDC_CLIENT_AUTH", "post (client_secret_post, default) or basic (client_secret_basic)",
                f"{_AUTH}.albauth.client_auth", oidc=True),
    EnvVariable("ALBAUTH_OIDC_EXTRA_PARAMS",
                'AuthenticationRequestExtraParams as a JSON object, e.g. {"prompt":"login"}', oidc=True),
    EnvVariable("ALBAUTH_OIDC_PKCE", "true: send PKCE S256 (hardening; ALB does not)",
                f"{_AUTH}.albauth.pkce", oidc=True),
    EnvVariable("ALBAUTH_OIDC_NONCE", "true: send and check an OIDC nonce (hardening; ALB does not)",
                f"{_AUTH}.albauth.nonce", oidc=True),
    EnvVariable("ALBAUTH_OIDC_CLAIMS_SOURCE", "userinfo (ALB), id_token, or merge (UserInfo wins on conflicts)",
                f"{_AUTH}.albauth.claims_source", oidc=True),
    EnvVariable("ALBAUTH_LOGOUT_PATH", "opt-in logout route answered by albauth, e.g. /oauth2/logout (ALB has none)",
                f"{_AUTH}.albauth.logout_path", oidc=True),
    EnvVariable("ALBAUTH_POST_LOGOUT_REDIRECT_URI",
                "where the provider sends the user after logout (required with ALBAUTH_LOGOUT_PATH)",
                f"{_AUTH}.albauth.post_logout_redirect_uri", oidc=True),
    EnvVariable("ALBAUTH_BACKCHANNEL_LOGOUT_PATH",
                "opt-in OIDC Back-Channel Logout receiver, e.g. /oauth2/backchannel-logout",
                f"{_AUTH}.albauth.backchannel_logout_path", oidc=True),
    EnvVariable("ALBAUTH_ON_UNAUTHENTICATED_REQUEST", "authenticate (default), deny or allow",
                f"{_OIDC}.OnUnauthenticatedRequest", oidc=True),
    EnvVariable("ALBAUTH_SESSION_TIMEOUT", "SessionTimeout in seconds, 1-604800 (default 604800)",
                f"{_OIDC}.SessionTimeout", oidc=True),
    EnvVariable("ALBAUTH_SESSION_COOKIE_NAME", "SessionCookieName (default AWSELBAuthSessionCookie)",
                f"{_OIDC}.SessionCookieName", oidc=True),
    EnvVariable("ALBAUTH_SESSION_STORE", "cookie (default, as ALB), memory, or a redis:// URL",
                "albauth.session.store"),
    EnvVariable("ALBAUTH_SESSION_SECRET", "comma-separated secrets (>= 32 chars each); the first seals, all open",
                "albauth.session.secrets"),
    EnvVariable("ALBAUTH_SIGNER_ARN", "signer ARN put in x-amzn-oidc-data", "albauth.signing.signer_arn"),
    EnvVariable("ALBAUTH_SIGNING_KEY_FILE", "P-256 PEM file for x-amzn-oidc-data (created when missing)",
                "albauth.signing.key_file"),
    EnvVariable("ALBAUTH_JWT_ENCODING", "alb (padded, as ALB) or standard (RFC 7515 compact JWS)",
                "albauth.signing.encoding"),
    EnvVariable("ALBAUTH_OIDC_CA_FILE", "PEM CA bundle trusted for calls to the provider, on top of the system's "
                "(SSL_CERT_FILE, when set, replaces the system's); HTTPS_PROXY/NO_PROXY set the outbound proxy",
                "albauth.ca_file"),
    EnvVariable("ALBAUTH_ADMIN_LISTEN", "host:port of the admin listener (default 127.0.0.1:9901; 'off' disables)",
                "albauth.admin_listen"),
    EnvVariable("ALBAUTH_LOG_LEVEL", "DEBUG, INFO (default), WARNING, ERROR", "albauth.log_level"),
    EnvVariable("ALBAUTH_DROP_INVALID_HEADER_FIELDS",
                "true: drop request headers whose name is outside [-A-Za-z0-9] (ALB's "
                "routing.http.drop_invalid_header_fields.enabled; default false)",
                "albauth.proxy.drop_invalid_header_fields"),
    EnvVariable("ALBAUTH_LISTEN_BACKLOG", "accept queue of each listening socket, 1-65535 (default 4096)",
                "albauth.listen_backlog"),
    EnvVariable("ALBAUTH_MAX_CONNECTIONS",
                "open client connections per process (default 10000); past it new ones are closed early",
                "albauth.max_connections"),
)
VARIABLES: dict[str, str] = {v.name: v.help for v in ENV_VARIABLES}

# Problems whose file-mode message speaks of file settings: env-only mode names the
# variable to change and says what to set instead.
_ENV_MESSAGES: dict[str, tuple[str, str]] = {
    f"{_AUTH}.Type": (
        "ALBAUTH_OIDC_ISSUER",
        "ALB accepts authenticate actions only on HTTPS listeners: set ALBAUTH_TLS_CERT and ALBAUTH_TLS_KEY, "
        "or ALBAUTH_TRUST_FORWARDED_PROTO=true behind a TLS-terminating proxy, or listen on loopback "
        "(ALBAUTH_LISTEN=127.0.0.1:8080) for local development"),
    "albauth.session.redis_url": (
        "ALBAUTH_SESSION_STORE", "give the Redis URL itself, e.g. redis://localhost:6379/0"),
}
# Where the variables placed by named steps go, for naming them in problems.
_STEP_ORIGINS: dict[str, str] = {
    "albauth.target_groups.upstream.targets[0]": "ALBAUTH_UPSTREAM",
    f"{_LISTENER}.albauth.certificate_file": "ALBAUTH_TLS_CERT",
    f"{_LISTENER}.albauth.key_file": "ALBAUTH_TLS_KEY",
    f"{_OIDC}.AuthenticationRequestExtraParams": "ALBAUTH_OIDC_EXTRA_PARAMS",
    f"{_LISTENER}.Port": "ALBAUTH_LISTEN",
}
_SEGMENT = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def load_env(env: Mapping[str, str]) -> Settings:
    c = Checker(SOURCE)
    values = {v.name: env[v.name] for v in ENV_VARIABLES if env.get(v.name) not in (None, "")}
    listen = c.host_port(values.get("ALBAUTH_LISTEN", "0.0.0.0:8080"), "ALBAUTH_LISTEN") or ("0.0.0.0", 8080)
    upstream = values.get("ALBAUTH_UPSTREAM")
    if not upstream:
        c.issue("ALBAUTH_UPSTREAM", "is required: the URL of the app to put behind albauth, e.g. http://127.0.0.1:3000")
    doc = _document(listen, upstream)
    https = _place_tls(c, values, doc)
    doc["listeners"][0]["albauth"]["local_development"] = not https and host_is_loopback(listen[0])
    oidc = "ALBAUTH_OIDC_ISSUER" in values
    if oidc:
        doc["listeners"][0]["DefaultActions"].insert(0, {"Type": "authenticate-oidc", "Order": 1,
                                                         "AuthenticateOidcConfig": {}, "albauth": {}})
        _place_extra_params(c, values, doc)
    for variable in ENV_VARIABLES:
        if variable.key and variable.name in values and (oidc or not variable.oidc):
            _put(doc, variable.key, values[variable.name])
    settings = parse_document(c, doc) if upstream else None
    if c.issues:
        raise ConfigError([_rename(i) for i in c.issues])
    assert settings is not None
    return settings


def _document(listen: tuple[str, int], upstream: str | None) -> dict[str, Any]:
    """The sidecar: one listener whose default rule forwards to the upstream."""
    return {
        "albauth": {
            "session": {},
            "signing": {},
            "target_groups": {_TG: {"targets": [upstream]}} if upstream else {},
        },
        "listeners": [{
            "Protocol": "HTTP",
            "Port": listen[1],
            "albauth": {"address": listen[0]},
            "DefaultActions": [{"Type": "forward", "Order": 2, "TargetGroupArn": _TG}],
        }],
    }


def _place_tls(c: Checker, values: dict[str, str], doc: dict[str, Any]) -> bool:
    """Both files make the listener HTTPS; one alone is a mistake."""
    cert, key = values.get("ALBAUTH_TLS_CERT"), values.get("ALBAUTH_TLS_KEY")
    if bool(cert) != bool(key):
        c.issue("ALBAUTH_TLS_CERT" if key else "ALBAUTH_TLS_KEY", "ALBAUTH_TLS_CERT and ALBAUTH_TLS_KEY go together")
    if not (cert and key):
        return False
    listener = doc["listeners"][0]
    listener["Protocol"] = "HTTPS"
    listener["albauth"].update(certificate_file=cert, key_file=key)
    return True


def _place_extra_params(c: Checker, values: dict[str, str], doc: dict[str, Any]) -> None:
    extra = values.get("ALBAUTH_OIDC_EXTRA_PARAMS")
    if not extra:
        return
    try:
        parsed = json.loads(extra)
    except ValueError as exc:
        c.issue("ALBAUTH_OIDC_EXTRA_PARAMS", f"is not valid JSON: {exc}")
        return
    if isinstance(parsed, dict):
        _put(doc, f"{_OIDC}.AuthenticationRequestExtraParams", parsed)
    else:
        c.issue("ALBAUTH_OIDC_EXTRA_PARAMS", 'must be a JSON object, e.g. {"prompt":"login"}')


def _put(doc: dict[str, Any], key: str, value: Any) -> None:
    """Set `value` at a document key path such as `listeners[0].albauth.address`."""
    parts: list[str | int] = [name if name else int(index) for name, index in _SEGMENT.findall(key)]
    node: Any = doc
    for part, following in zip(parts, parts[1:], strict=False):
        if isinstance(part, str) and part not in node:
            node[part] = [] if isinstance(following, int) else {}
        node = node[part]
    node[parts[-1]] = value


def _rename(issue: ConfigIssue) -> ConfigIssue:
    key = issue.key
    if key in _ENV_MESSAGES:
        return ConfigIssue(SOURCE, *_ENV_MESSAGES[key])
    origins = {**{v.key: v.name for v in ENV_VARIABLES if v.key}, **_STEP_ORIGINS}
    for path, var in origins.items():
        if key == path or key.startswith(path + ".") or key.startswith(path + "["):
            return ConfigIssue(SOURCE, var, issue.message)
    return issue
