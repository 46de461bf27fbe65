"""Configuration loading: ALB's shapes and limits, albauth's settings, and messages that
name the file, the key path and what is wrong (checklist 1-8; spec 1, 6.1, 7).

Every refusal test asserts on the exact key path: a user reading the message must be able
to find the line to change.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml
from foundation_helpers import REPO, config_error, run_albauth, settings_from_yaml

from albauth.config.env import load_env
from albauth.config.errors import ConfigError, ConfigIssue
from albauth.config.model import FixedResponseAction, ForwardAction, RedirectAction, Settings

FILE = "test.yaml"
SECRET = "x" * 32
OIDC = {
    "Issuer": "https://idp.example.com",
    "AuthorizationEndpoint": "https://idp.example.com/authorize",
    "TokenEndpoint": "https://idp.example.com/token",
    "UserInfoEndpoint": "https://idp.example.com/userinfo",
    "ClientId": "app",
    "ClientSecret": "s3cr3t",
}
COGNITO_ARN = "arn:aws:cognito-idp:eu-west-1:111122223333:userpool/eu-west-1_AbCdEf"


def base_doc() -> dict[str, Any]:
    """A valid file: one loopback HTTP listener (local development, so authenticate is
    allowed), one target group, a default forward and no rules."""
    return {
        "albauth": {"admin_listen": "off", "target_groups": {"app": {"targets": ["http://127.0.0.1:3000"]}}},
        "listeners": [{
            "Protocol": "HTTP", "Port": 8080,
            "albauth": {"address": "127.0.0.1", "local_development": True},
            "DefaultActions": [{"Type": "forward", "TargetGroupArn": "app"}],
        }],
    }


def with_rules(*rules: dict[str, Any]) -> dict[str, Any]:
    doc = base_doc()
    doc["listeners"][0]["Rules"] = list(rules)
    return doc


def a_rule(priority: Any = 10, conditions: list[dict[str, Any]] | None = None,
           actions: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"Priority": priority,
            "Conditions": conditions if conditions is not None else [{"Field": "path-pattern", "Values": ["/x"]}],
            "Actions": actions if actions is not None else [{"Type": "forward", "TargetGroupArn": "app"}]}


def oidc_actions(**fields: Any) -> list[dict[str, Any]]:
    return [{"Type": "authenticate-oidc", "Order": 1, "AuthenticateOidcConfig": {**OIDC, **fields}},
            {"Type": "forward", "Order": 2, "TargetGroupArn": "app"}]


def load(doc: dict[str, Any], env: dict[str, str] | None = None) -> Settings:
    return settings_from_yaml(yaml.safe_dump(doc, sort_keys=False), env)


def refused(doc: dict[str, Any], env: dict[str, str] | None = None) -> ConfigError:
    return config_error(yaml.safe_dump(doc, sort_keys=False), env)


def issue_at(error: ConfigError, key: str, *words: str, file: str = FILE) -> ConfigIssue:
    """The one issue reported at `key`; its message names the file and key and contains `words`."""
    found = [i for i in error.issues if i.key == key]
    assert found, f"no issue at {key!r}; got: {[str(i) for i in error.issues]}"
    issue = found[0]
    assert issue.file == file
    assert str(issue).startswith(f"{file}: {key}: ")
    for word in words:
        assert word.lower() in issue.message.lower(), (word, issue.message)
    return issue


# --- Document level --------------------------------------------------------------------

def test_bad_yaml_names_the_file_and_the_line() -> None:
    error = config_error("albauth:\n  admin_listen: off\nlisteners:\n  - Port: 8080\n    DefaultActions: [oops\n",
                         file="conf/albauth.yaml")
    (issue,) = error.issues
    assert issue.file == "conf/albauth.yaml"
    assert "line 6" in issue.message or "line 5" in issue.message
    assert str(issue).startswith("conf/albauth.yaml: ")


def test_tabs_in_yaml_report_a_line_number() -> None:
    error = config_error("listeners:\n\t- Port: 8080\n")
    assert "line 2" in error.issues[0].message


def test_top_level_must_be_a_mapping() -> None:
    error = config_error("- just\n- a list\n")
    assert "top level must be a mapping" in str(error)


def test_unknown_top_level_key_is_named() -> None:
    doc = base_doc()
    doc["listener"] = []  # a typo of listeners
    issue_at(refused(doc), "listener", "unknown top-level key")


def test_missing_default_actions_is_refused() -> None:
    doc = base_doc()
    del doc["listeners"][0]["DefaultActions"]
    issue_at(refused(doc), "listeners[0].DefaultActions", "required", "default rule")


def test_missing_listeners_is_refused() -> None:
    doc = base_doc()
    del doc["listeners"]
    issue_at(refused(doc), "listeners", "required")


# --- Rules -----------------------------------------------------------------------------

@pytest.mark.parametrize("priority", [0, 50001, "ten", -3, True])
def test_priority_outside_1_to_50000_is_refused(priority: Any) -> None:
    """Spec 7.1: unique integer priorities 1-50000."""
    issue_at(refused(with_rules(a_rule(priority))), "listeners[0].Rules[0].Priority")


def test_missing_priority_is_refused() -> None:
    rule = a_rule()
    del rule["Priority"]
    issue_at(refused(with_rules(rule)), "listeners[0].Rules[0].Priority", "required")


def test_duplicate_priority_names_both_rules() -> None:
    error = refused(with_rules(a_rule(7), a_rule(7)))
    issue_at(error, "listeners[0].Rules[1].Priority", "already used", "listeners[0].Rules[0]")


def test_rule_without_conditions_is_refused() -> None:
    rule = a_rule()
    del rule["Conditions"]
    issue_at(refused(with_rules(rule)), "listeners[0].Rules[0].Conditions", "at least one condition")


def test_unknown_condition_field_is_refused() -> None:
    error = refused(with_rules(a_rule(conditions=[{"Field": "path", "Values": ["/x"]}])))
    issue_at(error, "listeners[0].Rules[0].Conditions[0].Field", "path-pattern", "'path'")


def test_two_path_pattern_conditions_are_refused() -> None:
    """Spec 7.2: at most one path-pattern per rule (to OR paths, list them in one condition)."""
    error = refused(with_rules(a_rule(conditions=[{"Field": "path-pattern", "Values": ["/a"]},
                                                  {"Field": "path-pattern", "Values": ["/b"]}])))
    issue_at(error, "listeners[0].Rules[0].Conditions[1]", "at most one path-pattern", "Conditions[0]")


@pytest.mark.parametrize("cidr", ["10.0.0.0/33", "10.0.0", "not-an-ip", "2001:db8::/129", "255.255.255.255/32"])
def test_bad_cidr_is_refused(cidr: str) -> None:
    error = refused(with_rules(a_rule(conditions=[
        {"Field": "source-ip", "SourceIpConfig": {"Values": ["192.0.2.0/24", cidr]}}])))
    issue_at(error, "listeners[0].Rules[0].Conditions[0].SourceIpConfig.Values[1]")


@pytest.mark.parametrize("method", ["get", "Post", "GET*", "G" * 41])
def test_method_must_be_uppercase_letters_dash_underscore(method: str) -> None:
    """Spec 7.2: http-request-method is case-sensitive, A-Z, '-', '_', at most 40."""
    error = refused(with_rules(a_rule(conditions=[
        {"Field": "http-request-method", "HttpRequestMethodConfig": {"Values": ["PUT", method]}}])))
    issue_at(error, "listeners[0].Rules[0].Conditions[0].HttpRequestMethodConfig.Values[1]", "A-Z")


def test_more_than_5_condition_values_in_a_rule_are_refused() -> None:
    """Spec 7.1: up to 5 condition values per rule, counted across its conditions."""
    ok = a_rule(conditions=[{"Field": "path-pattern", "Values": ["/a", "/b", "/c"]},
                            {"Field": "host-header", "Values": ["a.test", "b.test"]}])
    load(with_rules(ok))
    too_many = a_rule(conditions=[{"Field": "path-pattern", "Values": ["/a", "/b", "/c"]},
                                  {"Field": "host-header", "Values": ["a.test", "b.test", "c.test"]}])
    issue_at(refused(with_rules(too_many)), "listeners[0].Rules[0].Conditions", "at most 5", "has 6")


def test_http_header_condition_cannot_name_host() -> None:
    error = refused(with_rules(a_rule(conditions=[
        {"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": "Host", "Values": ["a"]}}])))
    issue_at(error, "listeners[0].Rules[0].Conditions[0].HttpHeaderConfig.HttpHeaderName", "host-header")


def test_condition_value_over_128_characters_is_refused() -> None:
    error = refused(with_rules(a_rule(conditions=[{"Field": "path-pattern", "Values": ["/" + "a" * 128]}])))
    issue_at(error, "listeners[0].Rules[0].Conditions[0].Values[0]", "128")


# --- Actions ---------------------------------------------------------------------------

def test_rule_without_a_terminal_action_is_refused() -> None:
    """Checklist 4: a rule must end with forward, redirect or fixed-response."""
    actions = [{"Type": "authenticate-oidc", "Order": 1, "AuthenticateOidcConfig": OIDC}]
    issue_at(refused(with_rules(a_rule(actions=actions))), "listeners[0].Rules[0].Actions",
             "exactly one forward, redirect or fixed-response")


def test_terminal_action_not_last_in_order_is_refused() -> None:
    """Checklist 4: the terminal action comes last in Order, whatever the list order."""
    actions = oidc_actions()
    actions[0]["Order"], actions[1]["Order"] = 2, 1
    issue_at(refused(with_rules(a_rule(actions=actions))), "listeners[0].Rules[0].Actions", "last in Order")


def test_action_order_not_list_order_decides() -> None:
    actions = list(reversed(oidc_actions()))  # forward (Order 2) listed first
    rule = load(with_rules(a_rule(actions=actions))).listeners[0].rules[0]
    assert rule.authenticate is not None and isinstance(rule.action, ForwardAction)


def test_unknown_action_type_is_refused() -> None:
    error = refused(with_rules(a_rule(actions=[{"Type": "forwrad", "TargetGroupArn": "app"}])))
    issue_at(error, "listeners[0].Rules[0].Actions[0].Type", "forward")


def test_unknown_target_group_names_the_known_ones() -> None:
    error = refused(with_rules(a_rule(actions=[{"Type": "forward", "TargetGroupArn": "api"}])))
    issue_at(error, "listeners[0].Rules[0].Actions[0].TargetGroupArn", "unknown target group 'api'", "app")


def test_unknown_target_group_in_weighted_forward() -> None:
    actions = [{"Type": "forward", "ForwardConfig": {"TargetGroups": [
        {"TargetGroupArn": "app", "Weight": 1}, {"TargetGroupArn": "nope", "Weight": 1}]}}]
    issue_at(refused(with_rules(a_rule(actions=actions))),
             "listeners[0].Rules[0].Actions[0].ForwardConfig.TargetGroups[1].TargetGroupArn", "nope")


@pytest.mark.parametrize("weight", [-1, 1000])
def test_weight_outside_0_to_999_is_refused(weight: int) -> None:
    actions = [{"Type": "forward", "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": "app", "Weight": weight}]}}]
    issue_at(refused(with_rules(a_rule(actions=actions))),
             "listeners[0].Rules[0].Actions[0].ForwardConfig.TargetGroups[0].Weight", "0 and 999")


def test_a_url_is_accepted_as_a_target_group() -> None:
    rule = load(with_rules(a_rule(actions=[{"Type": "forward", "TargetGroupArn": "http://10.0.0.5:81"}])))
    action = rule.listeners[0].rules[0].action
    assert isinstance(action, ForwardAction) and action.target_groups[0].name == "http://10.0.0.5:81"


def fixed(**config: Any) -> dict[str, Any]:
    return with_rules(a_rule(actions=[{"Type": "fixed-response", "FixedResponseConfig": config}]))


@pytest.mark.parametrize("status", ["301", "600", "20", "2000", "abc"])
def test_fixed_response_status_must_be_2xx_4xx_5xx(status: str) -> None:
    issue_at(refused(fixed(StatusCode=status)), "listeners[0].Rules[0].Actions[0].FixedResponseConfig.StatusCode",
             "(2|4|5)")


def test_fixed_response_content_type_must_be_one_of_albs() -> None:
    issue_at(refused(fixed(StatusCode="200", ContentType="text/xml")),
             "listeners[0].Rules[0].Actions[0].FixedResponseConfig.ContentType", "text/plain", "application/json")


def test_fixed_response_body_over_1024_bytes_is_refused() -> None:
    """Spec 7.3: MessageBody up to 1024 bytes (bytes, not characters)."""
    load(fixed(StatusCode="200", MessageBody="a" * 1024))
    issue_at(refused(fixed(StatusCode="200", MessageBody="a" * 1025)),
             "listeners[0].Rules[0].Actions[0].FixedResponseConfig.MessageBody", "1024")
    issue_at(refused(fixed(StatusCode="200", MessageBody="\u00e9" * 513)),
             "listeners[0].Rules[0].Actions[0].FixedResponseConfig.MessageBody", "1024")


def test_fixed_response_is_parsed() -> None:
    action = load(fixed(StatusCode=503, ContentType="application/json", MessageBody='{"a":1}')
                  ).listeners[0].rules[0].action
    assert action == FixedResponseAction(503, "application/json", '{"a":1}')


def redirect(**config: Any) -> dict[str, Any]:
    return with_rules(a_rule(actions=[{"Type": "redirect", "RedirectConfig": config}]))


def test_redirect_that_changes_nothing_is_refused() -> None:
    """Spec 7.3: at least one of protocol, host, port or path must change (else it loops)."""
    issue_at(refused(redirect(StatusCode="HTTP_301")), "listeners[0].Rules[0].Actions[0].RedirectConfig",
             "must change")
    issue_at(refused(redirect(Protocol="#{protocol}", Host="#{host}", Port="#{port}", Path="/#{path}",
                              Query="changed=1", StatusCode="HTTP_302")),
             "listeners[0].Rules[0].Actions[0].RedirectConfig", "must change")


@pytest.mark.parametrize(("field", "value"), [("StatusCode", "HTTP_307"), ("Protocol", "FTP"), ("Port", "0"),
                                             ("Port", "70000"), ("Path", "no-slash"), ("Query", "?a=1")])
def test_redirect_fields_are_checked(field: str, value: str) -> None:
    config = {"Protocol": "HTTPS", "StatusCode": "HTTP_301", field: value}
    issue_at(refused(redirect(**config)), f"listeners[0].Rules[0].Actions[0].RedirectConfig.{field}")


def test_redirect_defaults_are_the_placeholders() -> None:
    action = load(redirect(Protocol="HTTPS", Port=443, StatusCode="HTTP_301")).listeners[0].rules[0].action
    assert action == RedirectAction("HTTPS", "443", "#{host}", "/#{path}", "#{query}", 301)


# --- Authenticate actions (spec 1, checklist 1-5) --------------------------------------

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


def test_authenticate_on_a_plain_http_listener_is_refused() -> None:
    """Checklist 4: ALB accepts authenticate actions only on HTTPS listeners."""
    doc = with_rules(a_rule(actions=oidc_actions()))
    doc["listeners"][0]["albauth"] = {"address": "127.0.0.1"}
    issue_at(refused(doc), "listeners[0].Rules[0].Actions[0].Type", "HTTPS", "trust_forwarded_proto")
    doc["listeners"][0]["DefaultActions"] = oidc_actions()
    issue_at(refused(doc), "listeners[0].DefaultActions[0].Type", "HTTPS")


def test_authenticate_on_http_behind_a_tls_proxy_is_accepted() -> None:
    doc = with_rules(a_rule(actions=oidc_actions()))
    doc["listeners"][0]["albauth"] = {"address": "0.0.0.0", "trust_forwarded_proto": True}
    assert load(doc).listeners[0].trust_forwarded_proto


@pytest.mark.parametrize("address", ["127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"])
def test_local_development_accepts_every_loopback_address(address: str) -> None:
    doc = with_rules(a_rule(actions=oidc_actions()))
    doc["listeners"][0]["albauth"] = {"address": address, "local_development": True}
    assert load(doc).listeners[0].local_development


def test_local_development_is_for_loopback_only() -> None:
    doc = base_doc()
    doc["listeners"][0]["albauth"] = {"address": "0.0.0.0", "local_development": True}
    issue_at(refused(doc), "listeners[0].albauth.local_development", "loopback")


def cognito_actions(domain: str = "my-prefix", **albauth: Any) -> list[dict[str, Any]]:
    return [{"Type": "authenticate-cognito", "Order": 1,
             "AuthenticateCognitoConfig": {"UserPoolArn": COGNITO_ARN, "UserPoolClientId": "1example23456789",
                                           "UserPoolDomain": domain},
             "albauth": {"client_secret": "cognito-secret", **albauth}},
            {"Type": "forward", "Order": 2, "TargetGroupArn": "app"}]


def test_cognito_prefix_domain_derives_the_hosted_ui_endpoints() -> None:
    """Checklist 5 (and 6 for the issuer and client id)."""
    auth = load(with_rules(a_rule(actions=cognito_actions("my-prefix")))).listeners[0].rules[0].authenticate
    assert auth is not None and auth.kind == "cognito"
    base = "https://my-prefix.auth.eu-west-1.amazoncognito.com"
    assert auth.authorization_endpoint == f"{base}/oauth2/authorize"
    assert auth.token_endpoint == f"{base}/oauth2/token"
    assert auth.userinfo_endpoint == f"{base}/oauth2/userInfo"
    assert auth.logout_endpoint == f"{base}/logout"
    assert auth.issuer == "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf"
    assert auth.client_id == "1example23456789"
    assert auth.client_secret == "cognito-secret"


def test_cognito_custom_domain_is_used_as_is() -> None:
    """Checklist 5: a domain with a dot is a custom domain."""
    auth = load(with_rules(a_rule(actions=cognito_actions("auth.example.com")))).listeners[0].rules[0].authenticate
    assert auth is not None
    assert auth.authorization_endpoint == "https://auth.example.com/oauth2/authorize"
    assert auth.issuer == "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf"


def test_cognito_overrides_point_at_a_local_stand_in() -> None:
    auth = load(with_rules(a_rule(actions=cognito_actions(
        token_endpoint="http://127.0.0.1:9229/oauth2/token", issuer="http://127.0.0.1:9229/local_pool")))
    ).listeners[0].rules[0].authenticate
    assert auth is not None
    assert auth.token_endpoint == "http://127.0.0.1:9229/oauth2/token"
    assert auth.issuer == "http://127.0.0.1:9229/local_pool"
    assert auth.authorization_endpoint == "https://my-prefix.auth.eu-west-1.amazoncognito.com/oauth2/authorize"


@pytest.mark.parametrize("arn", ["arn:aws:cognito-idp:eu-west-1:111122223333:pool/eu-west-1_AbCdEf",
                                 "arn:aws:cognito-idp:eu-west-1:1111:userpool/eu-west-1_AbCdEf",
                                 "eu-west-1_AbCdEf"])
def test_cognito_bad_user_pool_arn_is_refused(arn: str) -> None:
    actions = cognito_actions()
    actions[0]["AuthenticateCognitoConfig"]["UserPoolArn"] = arn
    issue_at(refused(with_rules(a_rule(actions=actions))),
             "listeners[0].Rules[0].Actions[0].AuthenticateCognitoConfig.UserPoolArn", "userpool/")


def test_cognito_without_a_client_secret_says_where_to_put_it() -> None:
    actions = cognito_actions()
    del actions[0]["albauth"]["client_secret"]
    issue_at(refused(with_rules(a_rule(actions=actions))), "listeners[0].Rules[0].Actions[0].albauth.client_secret",
             "required", "Cognito")


def test_unknown_albauth_setting_on_an_action_is_refused() -> None:
    actions = oidc_actions()
    actions[0]["albauth"] = {"pkce": True, "pcke": True}
    issue_at(refused(with_rules(a_rule(actions=actions))), "listeners[0].Rules[0].Actions[0].albauth.pcke",
             "unknown setting")


# --- ${VAR} substitution ---------------------------------------------------------------

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


# --- Listeners and albauth settings ----------------------------------------------------

def test_https_listener_needs_certificate_and_key_files() -> None:
    doc = base_doc()
    doc["listeners"][0].update(Protocol="HTTPS", albauth={"address": "127.0.0.1"})
    issue_at(refused(doc), "listeners[0].albauth", "certificate_file and key_file")


def test_https_listener_certificate_files_must_exist(tmp_path: Any) -> None:
    doc = base_doc()
    doc["listeners"][0].update(Protocol="HTTPS", albauth={"certificate_file": str(tmp_path / "cert.pem"),
                                                         "key_file": str(tmp_path / "key.pem")})
    error = refused(doc)
    issue_at(error, "listeners[0].albauth.certificate_file", "no such file")
    issue_at(error, "listeners[0].albauth.key_file", "no such file")


def test_short_session_secret_is_refused() -> None:
    doc = base_doc()
    doc["albauth"]["session"] = {"secrets": [SECRET, "too-short"]}
    issue_at(refused(doc), "albauth.session.secrets[1]", "at least 32", "is 9")


def test_session_secrets_rotate_first_seals() -> None:
    doc = base_doc()
    doc["albauth"]["session"] = {"secrets": ["${NEW}", SECRET]}
    settings = load(doc, env={"NEW": "n" * 40})
    assert settings.session.secrets == ("n" * 40, SECRET)


def test_redis_url_as_store_selects_redis() -> None:
    doc = base_doc()
    doc["albauth"]["session"] = {"store": "redis://localhost:6379/0"}
    session = load(doc).session
    assert (session.store, session.redis_url) == ("redis", "redis://localhost:6379/0")


def test_two_listeners_on_one_port_are_refused() -> None:
    doc = base_doc()
    doc["listeners"].append(copy.deepcopy(doc["listeners"][0]))
    issue_at(refused(doc), "listeners[1].Port", "already used")


def test_unknown_listener_setting_is_refused() -> None:
    doc = base_doc()
    doc["listeners"][0]["albauth"]["adress"] = "127.0.0.1"
    issue_at(refused(doc), "listeners[0].albauth.adress", "unknown setting")


def test_target_group_urls_are_checked() -> None:
    doc = base_doc()
    doc["albauth"]["target_groups"]["app"]["targets"] = ["localhost:3000"]
    issue_at(refused(doc), "albauth.target_groups.app.targets[0]", "http(s)://")


@pytest.mark.parametrize("url", ["http://127.0.0.1:99999", "http://127.0.0.1:http", "http://[::1:3000"])
def test_target_url_with_a_bad_port_or_host_is_refused_not_crashed_on(url: str) -> None:
    doc = base_doc()
    doc["albauth"]["target_groups"]["app"]["targets"] = [url]
    issue_at(refused(doc), "albauth.target_groups.app.targets[0]", "not a valid URL")


def test_all_problems_are_reported_at_once() -> None:
    doc = with_rules(
        a_rule(0),
        a_rule(5, conditions=[{"Field": "source-ip", "Values": ["10.0.0.0/40"]}]),
        a_rule(6, actions=oidc_actions(SessionTimeout=0, ClientSecret="${NOPE}")),
    )
    doc["albauth"]["log_level"] = "LOUD"
    doc["listeners"][0]["DefaultActions"] = [{"Type": "forward", "TargetGroupArn": "missing"}]
    error = refused(doc)
    keys = {i.key for i in error.issues}
    assert {
        "albauth.log_level",
        "listeners[0].Rules[0].Priority",
        "listeners[0].Rules[1].Conditions[0].Values[0]",
        "listeners[0].Rules[2].Actions[0].AuthenticateOidcConfig.SessionTimeout",
        "listeners[0].Rules[2].Actions[0].AuthenticateOidcConfig.ClientSecret",
        "listeners[0].DefaultActions[0].TargetGroupArn",
    } <= keys
    assert len(error.issues) >= 6
    assert str(error).count(f"{FILE}: ") == len(error.issues)


# --- Pasted from AWS (spec 7.4, checklist 7-8) ------------------------------------------

CLOUDFORMATION = """
albauth:
  admin_listen: off
  target_groups:
    AppTargetGroup: {targets: ["http://127.0.0.1:3000"]}
listeners:
  - Protocol: HTTP
    Port: 8080
    albauth: {address: 127.0.0.1, local_development: true}
    DefaultActions:
      - Type: fixed-response
        FixedResponseConfig: {StatusCode: "404", ContentType: text/plain, MessageBody: nothing here}
    Rules:
      # AWS::ElasticLoadBalancingV2::ListenerRule Properties, pasted as they are
      - ListenerArn: !Ref HttpsListener
        Priority: 10
        Conditions:
          - Field: host-header
            HostHeaderConfig: { Values: [app.example.com] }
          - Field: path-pattern
            PathPatternConfig: { Values: ["/app/*"] }
        Actions:
          - Type: authenticate-cognito
            Order: 1
            AuthenticateCognitoConfig:
              UserPoolArn: arn:aws:cognito-idp:eu-west-1:111122223333:userpool/eu-west-1_AbCdEf
              UserPoolClientId: 1example23456789
              UserPoolDomain: my-prefix
              OnUnauthenticatedRequest: deny
              SessionTimeout: 28800
            albauth: {client_secret: "${COGNITO_CLIENT_SECRET}"}
          - Type: forward
            Order: 2
            TargetGroupArn: !Ref AppTargetGroup
      - Priority: 20
        Conditions: [{Field: path-pattern, Values: ["/health"]}]
        Actions:
          - Type: forward
            TargetGroupArn: !GetAtt AppTargetGroup.TargetGroupArn
"""


def test_cloudformation_paste_with_ref_resolves_target_groups() -> None:
    """Checklist 8: `!Ref AppTargetGroup` names the target group AppTargetGroup."""
    settings = settings_from_yaml(CLOUDFORMATION, env={"COGNITO_CLIENT_SECRET": "c"})
    rules = settings.listeners[0].rules
    assert [r.priority for r in rules] == [10, 20, None]
    first = rules[0]
    assert isinstance(first.action, ForwardAction) and first.action.target_groups[0].name == "AppTargetGroup"
    assert first.authenticate is not None
    assert (first.authenticate.kind, first.authenticate.on_unauthenticated, first.authenticate.session_timeout) == (
        "cognito", "deny", 28800)
    assert isinstance(rules[1].action, ForwardAction)
    assert rules[1].action.target_groups[0].name == "AppTargetGroup"


def test_cloudformation_ref_to_an_unknown_target_group_is_named() -> None:
    text = CLOUDFORMATION.replace("TargetGroupArn: !Ref AppTargetGroup", "TargetGroupArn: !Ref ApiTargetGroup")
    error = config_error(text, env={"COGNITO_CLIENT_SECRET": "c"})
    issue_at(error, "listeners[0].Rules[0].Actions[1].TargetGroupArn", "ApiTargetGroup")


TG_ARN = "arn:aws:elasticloadbalancing:eu-west-1:111122223333:targetgroup/app/0123456789abcdef"
DESCRIBE_RULES = {"Rules": [
    {"RuleArn": "arn:aws:elasticloadbalancing:eu-west-1:111122223333:listener-rule/app/x/y/1",
     "Priority": "10",
     "Conditions": [{"Field": "path-pattern", "Values": ["/api/*"], "PathPatternConfig": {"Values": ["/api/*"]}}],
     "Actions": [
         {"Type": "authenticate-oidc", "Order": 1, "AuthenticateOidcConfig": {
             "Issuer": "https://idp.example.com", "AuthorizationEndpoint": "https://idp.example.com/authorize",
             "TokenEndpoint": "https://idp.example.com/token", "UserInfoEndpoint": "https://idp.example.com/userinfo",
             "ClientId": "app", "SessionCookieName": "AppSession", "Scope": "openid email",
             "SessionTimeout": 3600, "OnUnauthenticatedRequest": "deny", "UseExistingClientSecret": True}},
         {"Type": "forward", "Order": 2, "TargetGroupArn": TG_ARN,
          "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": TG_ARN, "Weight": 1}],
                            "TargetGroupStickinessConfig": {"Enabled": False}}}],
     "IsDefault": False},
    {"RuleArn": "arn:aws:elasticloadbalancing:eu-west-1:111122223333:listener-rule/app/x/y/2",
     "Priority": "default", "Conditions": [],
     "Actions": [{"Type": "fixed-response", "Order": 1,
                  "FixedResponseConfig": {"MessageBody": "nope", "StatusCode": "404", "ContentType": "text/plain"}}],
     "IsDefault": True},
]}


def describe_rules_doc() -> dict[str, Any]:
    doc = base_doc()
    doc["albauth"]["target_groups"] = {TG_ARN: {"targets": ["http://127.0.0.1:3000"]}}
    del doc["listeners"][0]["DefaultActions"]
    doc["listeners"][0]["Rules"] = copy.deepcopy(DESCRIBE_RULES["Rules"])
    return doc


def test_describe_rules_output_is_accepted_with_the_secret_added() -> None:
    """Checklist 7: `"Priority": "default"` is the default rule, numeric strings become integers;
    describe-rules never returns ClientSecret, so the user adds it (here from the environment)."""
    doc = describe_rules_doc()
    doc["listeners"][0]["Rules"][0]["Actions"][0]["AuthenticateOidcConfig"]["ClientSecret"] = "${OIDC_SECRET}"
    rules = load(doc, env={"OIDC_SECRET": "s"}).listeners[0].rules
    assert [r.priority for r in rules] == [10, None]
    assert rules[0].authenticate is not None and rules[0].authenticate.client_secret == "s"
    assert rules[0].authenticate.session_cookie_name == "AppSession"
    assert rules[1].conditions == () and isinstance(rules[1].action, FixedResponseAction)
    assert rules[1].action.status == 404


def test_describe_rules_output_without_the_secret_names_the_key() -> None:
    """Checklist 7: a missing ClientSecret is an error, not a silent empty secret."""
    issue_at(refused(describe_rules_doc()), "listeners[0].Rules[0].Actions[0].AuthenticateOidcConfig.ClientSecret",
             "required")


def test_default_rule_given_twice_is_refused() -> None:
    doc = describe_rules_doc()
    doc["listeners"][0]["Rules"][0]["Actions"][0]["AuthenticateOidcConfig"]["ClientSecret"] = "s"
    doc["listeners"][0]["DefaultActions"] = [{"Type": "forward", "TargetGroupArn": TG_ARN}]
    issue_at(refused(doc), "listeners[0].DefaultActions", "given twice")


# --- Environment-only mode -------------------------------------------------------------

ENV = {"ALBAUTH_UPSTREAM": "http://127.0.0.1:3000"}


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
                         "ALBAUTH_SESSION_SECRET": f"{SECRET},{'y' * 32}", "ALBAUTH_ADMIN_LISTEN": "off"})
    auth = settings.listeners[0].rules[0].authenticate
    assert auth is not None
    assert (auth.scope, auth.session_timeout, auth.on_unauthenticated, auth.extra_params, auth.pkce) == (
        "openid email", 60, "deny", (("prompt", "login"),), True)
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


# --- albauth check-config ------------------------------------------------------------------

def test_check_config_exits_0_on_a_good_file(tmp_path: Any) -> None:
    path = tmp_path / "good.yaml"
    path.write_text(yaml.safe_dump(with_rules(a_rule())))
    result = run_albauth("check-config", str(path))
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout and str(path) in result.stdout


def test_check_config_exits_2_with_every_message_on_stderr(tmp_path: Any) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(with_rules(a_rule(0), a_rule(actions=oidc_actions(SessionTimeout=0)))))
    result = run_albauth("check-config", str(path))
    assert result.returncode == 2
    assert f"{path}: listeners[0].Rules[0].Priority: " in result.stderr
    assert f"{path}: listeners[0].Rules[1].Actions[0].AuthenticateOidcConfig.SessionTimeout: " in result.stderr
    assert "2 problem(s)" in result.stderr
    assert result.stdout == ""


def test_check_config_without_a_file_checks_the_environment() -> None:
    result = run_albauth("check-config", env={"ALBAUTH_SESSION_TIMEOUT": "5"})
    assert result.returncode == 2
    assert "environment: ALBAUTH_UPSTREAM: " in result.stderr
    assert run_albauth("check-config", env=ENV).returncode == 0


def test_check_config_on_a_missing_file_exits_2() -> None:
    result = run_albauth("check-config", str(REPO / "no-such-file.yaml"))
    assert result.returncode == 2 and "cannot read the file" in result.stderr


# --- Unknown keys ------------------------------------------------------------------------

def test_misspelt_alb_field_is_named_not_silently_defaulted() -> None:
    """`SesionTimeout` must not quietly leave ALB's 7-day default in force."""
    doc = with_rules(a_rule(actions=oidc_actions(SesionTimeout=60)))
    error = refused(doc)
    issue_at(error, "listeners[0].Rules[0].Actions[0].AuthenticateOidcConfig.SesionTimeout",
             "unknown key", "SessionTimeout")


@pytest.mark.parametrize("where, key", [
    ("rule", "Prority"), ("listener", "DefaultAction"), ("condition", "PathPaternConfig"),
    ("albauth", "sesion"),
])
def test_unknown_keys_are_reported_where_they_stand(where: str, key: str) -> None:
    doc = with_rules(a_rule())
    target = {"rule": doc["listeners"][0]["Rules"][0], "listener": doc["listeners"][0],
              "condition": doc["listeners"][0]["Rules"][0]["Conditions"][0], "albauth": doc["albauth"]}[where]
    target[key] = {}
    path = {"rule": "listeners[0].Rules[0]", "listener": "listeners[0]",
            "condition": "listeners[0].Rules[0].Conditions[0]", "albauth": "albauth"}[where]
    issue_at(refused(doc), f"{path}.{key}", "unknown key")


def test_fields_albauth_ignores_from_describe_output_are_accepted() -> None:
    arn = "arn:aws:elasticloadbalancing:...:listener-rule/app/x"
    doc = with_rules({**a_rule(), "RuleArn": arn, "IsDefault": False})
    doc["listeners"][0].update(ListenerArn="arn:aws:...", SslPolicy="ELBSecurityPolicy-2016-08")
    assert load(doc).listeners[0].rules[0].priority == 10
