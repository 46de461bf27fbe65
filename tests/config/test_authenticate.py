"""The authenticate-oidc action (albauth/config/authenticate.py): ALB's defaults and limits (checklist 1-3)."""

from __future__ import annotations

from typing import Any

import pytest

from .helpers import (
    a_rule,
    issue_at,
    load,
    oidc_actions,
    refused,
    with_rules,
)


def test_oidc_defaults_are_albs() -> None:
    """Checklist 1: omitted fields are AWSELBAuthSessionCookie, openid, 604800, authenticate."""
    auth = load(with_rules(a_rule(actions=oidc_actions()))).listeners[0].rules[0].authenticate
    assert auth is not None
    assert (auth.session_cookie_name, auth.scope, auth.session_timeout, auth.on_unauthenticated) == (
        "AWSELBAuthSessionCookie", "openid", 604800, "authenticate")
    assert (auth.issuer, auth.client_id, auth.client_secret) == ("https://idp.example.com", "app", "s3cr3t")


@pytest.mark.parametrize("timeout", [0, 604801, -1])
def test_session_timeout_outside_1_to_604800_is_refused(timeout: int) -> None:
    """Checklist 2."""
    error = refused(with_rules(a_rule(actions=oidc_actions(SessionTimeout=timeout))))
    issue_at(error, "listeners[0].Rules[0].Actions[0].AuthenticateOidcConfig.SessionTimeout", "1 and 604800")


@pytest.mark.parametrize("timeout", [1, 604800, "3600"])
def test_session_timeout_1_and_604800_are_accepted(timeout: Any) -> None:
    """Checklist 2; CloudFormation types SessionTimeout as a String in Listener default actions."""
    auth = load(with_rules(a_rule(actions=oidc_actions(SessionTimeout=timeout)))).listeners[0].rules[0].authenticate
    assert auth is not None and auth.session_timeout == int(timeout)


def test_more_than_10_extra_params_are_refused() -> None:
    """Checklist 3."""
    ten = {f"p{i}": "v" for i in range(10)}
    auth = load(with_rules(a_rule(actions=oidc_actions(AuthenticationRequestExtraParams=ten)))
                ).listeners[0].rules[0].authenticate
    assert auth is not None and len(auth.extra_params) == 10
    eleven = {**ten, "p10": "v"}
    error = refused(with_rules(a_rule(actions=oidc_actions(AuthenticationRequestExtraParams=eleven))))
    issue_at(error, "listeners[0].Rules[0].Actions[0].AuthenticateOidcConfig.AuthenticationRequestExtraParams",
             "at most 10")


def test_extra_param_keys_must_be_alphanumeric() -> None:
    error = refused(with_rules(a_rule(actions=oidc_actions(AuthenticationRequestExtraParams={"ui-locales": "de"}))))
    issue_at(error, "listeners[0].Rules[0].Actions[0].AuthenticateOidcConfig.AuthenticationRequestExtraParams"
                    ".ui-locales", "[a-zA-Z0-9]+")


def test_on_unauthenticated_request_must_be_known() -> None:
    error = refused(with_rules(a_rule(actions=oidc_actions(OnUnauthenticatedRequest="redirect"))))
    issue_at(error, "listeners[0].Rules[0].Actions[0].AuthenticateOidcConfig.OnUnauthenticatedRequest",
             "authenticate, deny or allow")


@pytest.mark.parametrize("field", ["Issuer", "ClientId", "ClientSecret"])
def test_required_oidc_fields(field: str) -> None:
    actions = oidc_actions()
    del actions[0]["AuthenticateOidcConfig"][field]
    issue_at(refused(with_rules(a_rule(actions=actions))),
             f"listeners[0].Rules[0].Actions[0].AuthenticateOidcConfig.{field}", "required")


def test_unknown_albauth_setting_on_an_action_is_refused() -> None:
    actions = oidc_actions()
    actions[0]["albauth"] = {"pkce": True, "pcke": True}
    issue_at(refused(with_rules(a_rule(actions=actions))), "listeners[0].Rules[0].Actions[0].albauth.pcke",
             "unknown setting")


LOGOUT = {"logout_path": "/oauth2/logout", "post_logout_redirect_uri": "https://app.example.com/bye"}


def logout_actions(**albauth: Any) -> list[dict[str, Any]]:
    actions = oidc_actions()
    actions[0]["albauth"] = {**LOGOUT, **albauth}
    return actions


def test_logout_refuses_cross_site_get_by_default() -> None:
    auth = load(with_rules(a_rule(actions=logout_actions()))).listeners[0].rules[0].authenticate
    assert auth is not None and auth.logout_allow_cross_site_get is False


def test_logout_allow_cross_site_get_is_applied() -> None:
    auth = load(with_rules(a_rule(actions=logout_actions(logout_allow_cross_site_get=True)))
                ).listeners[0].rules[0].authenticate
    assert auth is not None and auth.logout_allow_cross_site_get is True


def test_logout_allow_cross_site_get_must_be_a_boolean() -> None:
    error = refused(with_rules(a_rule(actions=logout_actions(logout_allow_cross_site_get="links"))))
    issue_at(error, "listeners[0].Rules[0].Actions[0].albauth.logout_allow_cross_site_get", "true or false")


def test_logout_allow_cross_site_get_without_a_logout_path_is_refused() -> None:
    actions = oidc_actions()
    actions[0]["albauth"] = {"logout_allow_cross_site_get": True}
    issue_at(refused(with_rules(a_rule(actions=actions))),
             "listeners[0].Rules[0].Actions[0].albauth.logout_allow_cross_site_get", "only with logout_path")


def _with_albauth(**albauth: Any) -> list[dict[str, Any]]:
    actions = oidc_actions()
    actions[0]["albauth"] = albauth
    return actions


def test_single_page_app_options_default_to_albs_behaviour() -> None:
    auth = load(with_rules(a_rule(actions=oidc_actions()))).listeners[0].rules[0].authenticate
    assert auth is not None
    assert (auth.claims_source, auth.xhr_401, auth.allow_cors_preflight, auth.redirect_loop_limit) == (
        "userinfo", False, False, 0)


def test_single_page_app_options_are_applied() -> None:
    actions = _with_albauth(claims_source="merge", xhr_401=True, allow_cors_preflight=True,
                            redirect_loop_limit=5, redirect_loop_window=30)
    auth = load(with_rules(a_rule(actions=actions))).listeners[0].rules[0].authenticate
    assert auth is not None
    assert (auth.claims_source, auth.xhr_401, auth.allow_cors_preflight, auth.redirect_loop_limit,
            auth.redirect_loop_window) == ("merge", True, True, 5, 30)


@pytest.mark.parametrize(("key", "value", "reason"), [
    ("claims_source", "access_token", "userinfo (ALB), id_token or merge"),
    ("xhr_401", "sometimes", "true or false"),
    ("redirect_loop_limit", -1, ""),
    ("redirect_loop_window", 0, ""),
])
def test_single_page_app_options_are_checked(key: str, value: Any, reason: str) -> None:
    issue_at(refused(with_rules(a_rule(actions=_with_albauth(**{key: value})))),
             f"listeners[0].Rules[0].Actions[0].albauth.{key}", reason)


def test_client_auth_must_be_known() -> None:
    issue_at(refused(with_rules(a_rule(actions=_with_albauth(client_auth="private_key_jwt")))),
             "listeners[0].Rules[0].Actions[0].albauth.client_auth", "post (client_secret_post) or basic")
