"""Environment-only mode (albauth/config/env.py): problems are named by their variable."""

from __future__ import annotations

import pytest

from albauth.config.env import ENV_VARIABLES, VARIABLES, load_env
from albauth.config.errors import ConfigError, ConfigIssue
from albauth.config.model import ForwardAction

from .helpers import (
    ENV,
    SECRET,
    issue_at,
)


def env_refused(env: dict[str, str]) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_env(env)
    return caught.value


def env_issue(error: ConfigError, variable: str, *words: str) -> ConfigIssue:
    return issue_at(error, variable, *words, file="environment")


def test_env_only_defaults() -> None:
    settings = load_env(ENV)
    (listener,) = settings.listeners
    assert (listener.protocol, listener.address, listener.port) == ("HTTP", "0.0.0.0", 8080)
    assert not listener.local_development and not listener.has_authenticate
    assert settings.admin_listen == ("127.0.0.1", 9901)
    assert settings.target_groups["upstream"].targets == ("http://127.0.0.1:3000",)
    assert settings.session.store == "cookie" and settings.source == "environment"
    (rule,) = listener.rules
    assert rule.priority is None and isinstance(rule.action, ForwardAction)


def test_env_only_loopback_http_listener_is_local_development() -> None:
    settings = load_env({**ENV, "ALBAUTH_LISTEN": "127.0.0.1:8088", "ALBAUTH_OIDC_ISSUER": "https://idp.test",
                         "ALBAUTH_OIDC_CLIENT_ID": "app", "ALBAUTH_OIDC_CLIENT_SECRET": "s"})
    (listener,) = settings.listeners
    assert listener.local_development and listener.port == 8088
    auth = listener.rules[0].authenticate
    assert auth is not None and auth.issuer == "https://idp.test" and auth.authorization_endpoint is None


@pytest.mark.parametrize("listen", ["127.0.0.1:8088", "[::1]:8088", "localhost:8088"])
def test_env_only_any_loopback_listen_address_is_local_development(listen: str) -> None:
    settings = load_env({**ENV, "ALBAUTH_LISTEN": listen, "ALBAUTH_OIDC_ISSUER": "https://idp.test",
                         "ALBAUTH_OIDC_CLIENT_ID": "app", "ALBAUTH_OIDC_CLIENT_SECRET": "s"})
    assert settings.listeners[0].local_development and settings.listeners[0].has_authenticate


def test_env_only_full_oidc() -> None:
    settings = load_env({**ENV, "ALBAUTH_LISTEN": "127.0.0.1:8088", "ALBAUTH_OIDC_ISSUER": "https://idp.test",
                         "ALBAUTH_OIDC_CLIENT_ID": "app", "ALBAUTH_OIDC_CLIENT_SECRET": "s",
                         "ALBAUTH_OIDC_SCOPE": "openid email", "ALBAUTH_SESSION_TIMEOUT": "60",
                         "ALBAUTH_ON_UNAUTHENTICATED_REQUEST": "deny",
                         "ALBAUTH_OIDC_EXTRA_PARAMS": '{"prompt": "login"}', "ALBAUTH_OIDC_PKCE": "true",
                         "ALBAUTH_SESSION_SECRET": f"{SECRET},{'y' * 32}", "ALBAUTH_ADMIN_LISTEN": "off",
                         "ALBAUTH_OIDC_CLAIMS_SOURCE": "merge"})
    auth = settings.listeners[0].rules[0].authenticate
    assert auth is not None
    assert (auth.scope, auth.session_timeout, auth.on_unauthenticated, auth.extra_params, auth.pkce,
            auth.claims_source) == ("openid email", 60, "deny", (("prompt", "login"),), True, "merge")
    assert settings.session.secrets == (SECRET, "y" * 32) and settings.admin_listen is None


def test_env_only_missing_upstream_is_named() -> None:
    env_issue(env_refused({}), "ALBAUTH_UPSTREAM", "required")


@pytest.mark.parametrize(("variable", "value", "words"), [
    ("ALBAUTH_SESSION_TIMEOUT", "0", ("1 and 604800",)),
    ("ALBAUTH_SESSION_TIMEOUT", "a week", ("whole number",)),
    ("ALBAUTH_OIDC_EXTRA_PARAMS", "{prompt: login}", ("JSON",)),
    ("ALBAUTH_OIDC_EXTRA_PARAMS", '["prompt"]', ("JSON object",)),
    ("ALBAUTH_ON_UNAUTHENTICATED_REQUEST", "never", ("authenticate, deny or allow",)),
    ("ALBAUTH_OIDC_CLIENT_AUTH", "jwt", ("post", "basic")),
    ("ALBAUTH_OIDC_PKCE", "maybe", ("true or false",)),
    ("ALBAUTH_OIDC_CLAIMS_SOURCE", "token", ("userinfo", "id_token", "merge")),
    ("ALBAUTH_SESSION_SECRET", "short", ("at least 32",)),
    ("ALBAUTH_SESSION_STORE", "memcached", ("cookie, memory",)),
    ("ALBAUTH_SESSION_STORE", "redis", ("redis://",)),
    ("ALBAUTH_JWT_ENCODING", "base64", ("alb",)),
    ("ALBAUTH_LOG_LEVEL", "LOUD", ("INFO",)),
    ("ALBAUTH_LISTEN", "127.0.0.1:http", ("host:port",)),
    ("ALBAUTH_ADMIN_LISTEN", "localhost:99999", ("host:port",)),
    ("ALBAUTH_TRUST_FORWARDED_PROTO", "perhaps", ("true or false",)),
])
def test_env_only_problems_are_named_by_their_variable(variable: str, value: str, words: tuple[str, ...]) -> None:
    env = {**ENV, "ALBAUTH_LISTEN": "127.0.0.1:8088", "ALBAUTH_OIDC_ISSUER": "https://idp.test",
           "ALBAUTH_OIDC_CLIENT_ID": "app", "ALBAUTH_OIDC_CLIENT_SECRET": "s", variable: value}
    env_issue(env_refused(env), variable, *words)


def test_env_only_bad_upstream_url_is_named() -> None:
    env_issue(env_refused({"ALBAUTH_UPSTREAM": "localhost:3000"}), "ALBAUTH_UPSTREAM", "http(s)://")


def test_env_only_missing_client_settings_are_named() -> None:
    error = env_refused({**ENV, "ALBAUTH_LISTEN": "127.0.0.1:8088", "ALBAUTH_OIDC_ISSUER": "https://idp.test"})
    env_issue(error, "ALBAUTH_OIDC_CLIENT_ID", "required")
    env_issue(error, "ALBAUTH_OIDC_CLIENT_SECRET", "required")


def test_env_only_tls_cert_without_key_is_named() -> None:
    env_issue(env_refused({**ENV, "ALBAUTH_TLS_CERT": "/nonexistent/cert.pem"}), "ALBAUTH_TLS_KEY", "go together")


def test_env_only_tls_files_must_exist() -> None:
    error = env_refused({**ENV, "ALBAUTH_TLS_CERT": "/nonexistent/cert.pem", "ALBAUTH_TLS_KEY": "/nonexistent/k.pem"})
    env_issue(error, "ALBAUTH_TLS_CERT", "no such file")
    env_issue(error, "ALBAUTH_TLS_KEY", "no such file")


def test_env_only_oidc_on_a_public_http_listener_names_the_variables_to_set() -> None:
    """Checklist 4 in env-only mode: the message must point at a variable, not at an internal key."""
    error = env_refused({**ENV, "ALBAUTH_OIDC_ISSUER": "https://idp.test", "ALBAUTH_OIDC_CLIENT_ID": "app",
                         "ALBAUTH_OIDC_CLIENT_SECRET": "s"})
    (issue,) = error.issues
    assert issue.file == "environment" and issue.key.startswith("ALBAUTH_"), str(issue)
    for variable in ("ALBAUTH_TLS_CERT", "ALBAUTH_TRUST_FORWARDED_PROTO", "ALBAUTH_LISTEN"):
        assert variable in issue.message, issue.message


@pytest.mark.parametrize(("variable", "value", "path", "expected"), [
    ("ALBAUTH_DROP_INVALID_HEADER_FIELDS", "true", ("proxy", "drop_invalid_header_fields"), True),
    ("ALBAUTH_LISTEN_BACKLOG", "512", ("listen_backlog",), 512),
    ("ALBAUTH_MAX_CONNECTIONS", "20000", ("max_connections",), 20000),
])
def test_env_only_connection_and_header_settings(variable: str, value: str, path: tuple[str, ...],
                                                 expected: object) -> None:
    node: object = load_env({**ENV, variable: value})
    for name in path:
        node = getattr(node, name)
    assert node == expected


@pytest.mark.parametrize(("variable", "value", "words"), [
    ("ALBAUTH_DROP_INVALID_HEADER_FIELDS", "maybe", ("true or false",)),
    ("ALBAUTH_LISTEN_BACKLOG", "0", ("between 1 and 65535",)),
    ("ALBAUTH_LISTEN_BACKLOG", "big", ("whole number",)),
    ("ALBAUTH_MAX_CONNECTIONS", "0", ("between 1",)),
])
def test_env_only_bad_connection_and_header_settings_are_named(variable: str, value: str,
                                                               words: tuple[str, ...]) -> None:
    env_issue(env_refused({**ENV, variable: value}), variable, *words)


def test_every_variable_is_listed_once_with_what_it_sets() -> None:
    names = [v.name for v in ENV_VARIABLES]
    assert len(names) == len(set(names)) and list(VARIABLES) == names
    assert all(v.help and v.name.startswith("ALBAUTH_") for v in ENV_VARIABLES)
