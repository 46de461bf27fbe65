"""`${VAR}` substitution (albauth/config/substitute.py)."""

from __future__ import annotations

from .helpers import (
    a_rule,
    base_doc,
    issue_at,
    load,
    oidc_actions,
    refused,
    with_rules,
)


def test_missing_variable_without_default_is_refused() -> None:
    actions = oidc_actions(ClientSecret="${OIDC_CLIENT_SECRET}")
    error = refused(with_rules(a_rule(actions=actions)), env={})
    issue_at(error, "listeners[0].Rules[0].Actions[0].AuthenticateOidcConfig.ClientSecret", "OIDC_CLIENT_SECRET",
             "not set")


def test_an_unset_variable_is_the_only_problem_reported_at_its_key() -> None:
    """Not also "is required" / "too short" for the empty string it leaves behind."""
    doc = with_rules(a_rule(actions=oidc_actions(ClientSecret="${OIDC_CLIENT_SECRET}")))
    doc["albauth"]["session"] = {"secrets": ["${SESSION_SECRET}"]}
    error = refused(doc, env={})
    assert sorted(i.key for i in error.issues) == [
        "albauth.session.secrets[0]", "listeners[0].Rules[0].Actions[0].AuthenticateOidcConfig.ClientSecret"]
    assert all("is not set" in i.message for i in error.issues)


def test_variables_and_defaults_are_substituted() -> None:
    actions = oidc_actions(ClientSecret="${OIDC_CLIENT_SECRET}", Scope="${SCOPE:-openid email}",
                           ClientId="app-${STAGE:-dev}")
    auth = load(with_rules(a_rule(actions=actions)), env={"OIDC_CLIENT_SECRET": "from-env", "STAGE": ""}
                ).listeners[0].rules[0].authenticate
    assert auth is not None
    assert (auth.client_secret, auth.scope, auth.client_id) == ("from-env", "openid email", "app-dev")


def test_double_dollar_is_a_literal_dollar() -> None:
    auth = load(with_rules(a_rule(actions=oidc_actions(ClientSecret="pa$$word-${X:-y}")))
                ).listeners[0].rules[0].authenticate
    assert auth is not None and auth.client_secret == "pa$word-y"


def test_a_variable_cannot_change_the_document_structure() -> None:
    doc = base_doc()
    doc["albauth"]["target_groups"]["app"]["targets"] = ["${UPSTREAM}"]
    error = refused(doc, env={"UPSTREAM": "http://a:1\"]}, evil: {x: 1"})
    issue_at(error, "albauth.target_groups.app.targets[0]", "URL")
