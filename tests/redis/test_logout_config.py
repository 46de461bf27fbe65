"""The opt-in logout settings: off unless configured, checked at load, and available in
environment-only mode."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from albauth.config.env import VARIABLES, load_env
from albauth.config.errors import ConfigError
from albauth.config.load import load_text
from albauth.config.model import AuthenticateConfig, Settings

ISSUER = "https://login.example.com"


def document(ext: dict[str, Any]) -> str:
    action = {"Type": "authenticate-oidc", "Order": 1, "albauth": ext, "AuthenticateOidcConfig": {
        "Issuer": ISSUER, "ClientId": "app", "ClientSecret": "s",
        "AuthorizationEndpoint": f"{ISSUER}/a", "TokenEndpoint": f"{ISSUER}/t",
        "UserInfoEndpoint": f"{ISSUER}/u"}}
    return yaml.safe_dump({"listeners": [{
        "Protocol": "HTTP", "Port": 8080, "albauth": {"address": "127.0.0.1", "local_development": True},
        "DefaultActions": [action, {"Type": "forward", "Order": 2, "TargetGroupArn": "http://127.0.0.1:3000"}]}]})


def auth_config(ext: dict[str, Any]) -> AuthenticateConfig:
    return _authenticate(load_text(document(ext), "t.yaml", {}))


def _authenticate(settings: Settings) -> AuthenticateConfig:
    """The authenticate action of the first rule (the listener's default actions)."""
    cfg = settings.listeners[0].rules[0].authenticate
    assert cfg is not None
    return cfg


def test_logout_routes_are_off_by_default() -> None:
    cfg = auth_config({})
    assert (cfg.logout_path, cfg.post_logout_redirect_uri, cfg.backchannel_logout_path) == (None, None, None)


def test_logout_routes_are_read_from_the_action_block() -> None:
    cfg = auth_config({"logout_path": "/oauth2/logout", "post_logout_redirect_uri": "https://app.test/bye",
                       "backchannel_logout_path": "/oauth2/backchannel-logout"})
    assert cfg.logout_path == "/oauth2/logout"
    assert cfg.post_logout_redirect_uri == "https://app.test/bye"
    assert cfg.backchannel_logout_path == "/oauth2/backchannel-logout"


@pytest.mark.parametrize(("ext", "key", "words"), [
    ({"logout_path": "/oauth2/logout"}, "post_logout_redirect_uri", "is required with logout_path"),
    ({"logout_path": "logout", "post_logout_redirect_uri": "https://a.test/"}, "logout_path", "absolute path"),
    ({"backchannel_logout_path": "/oauth2/idpresponse"}, "backchannel_logout_path", "login callback"),
])
def test_bad_logout_settings_name_their_key(ext: dict[str, Any], key: str, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        auth_config(ext)
    [issue] = info.value.issues
    assert issue.key == f"listeners[0].DefaultActions[0].albauth.{key}"
    assert words in issue.message


def test_logout_settings_from_the_environment() -> None:
    env = {"ALBAUTH_LISTEN": "127.0.0.1:8080", "ALBAUTH_UPSTREAM": "http://127.0.0.1:3000",
           "ALBAUTH_OIDC_ISSUER": ISSUER, "ALBAUTH_OIDC_CLIENT_ID": "app", "ALBAUTH_OIDC_CLIENT_SECRET": "s",
           "ALBAUTH_LOGOUT_PATH": "/logout", "ALBAUTH_POST_LOGOUT_REDIRECT_URI": "http://127.0.0.1:8080/bye",
           "ALBAUTH_BACKCHANNEL_LOGOUT_PATH": "/bcl"}
    cfg = _authenticate(load_env(env))
    assert (cfg.logout_path, cfg.post_logout_redirect_uri, cfg.backchannel_logout_path) == (
        "/logout", "http://127.0.0.1:8080/bye", "/bcl")
    added = {"ALBAUTH_LOGOUT_PATH", "ALBAUTH_POST_LOGOUT_REDIRECT_URI", "ALBAUTH_BACKCHANNEL_LOGOUT_PATH"}
    assert added <= set(VARIABLES)


def test_a_missing_post_logout_uri_names_the_variable() -> None:
    env = {"ALBAUTH_LISTEN": "127.0.0.1:8080", "ALBAUTH_UPSTREAM": "http://127.0.0.1:3000",
           "ALBAUTH_OIDC_ISSUER": ISSUER, "ALBAUTH_OIDC_CLIENT_ID": "app", "ALBAUTH_OIDC_CLIENT_SECRET": "s",
           "ALBAUTH_LOGOUT_PATH": "/logout"}
    with pytest.raises(ConfigError) as info:
        load_env(env)
    assert [i.key for i in info.value.issues] == ["ALBAUTH_POST_LOGOUT_REDIRECT_URI"]
