"""Listeners and their rules (albauth/config/listeners.py): priorities, conditions required,
HTTPS and how an HTTP listener may authenticate, the default rule, describe-rules output (spec 7.1, checklist 4, 7)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from albauth.config.model import FixedResponseAction

from .helpers import (
    a_rule,
    base_doc,
    issue_at,
    load,
    oidc_actions,
    refused,
    with_rules,
)


def test_missing_default_actions_is_refused() -> None:
    doc = base_doc()
    del doc["listeners"][0]["DefaultActions"]
    issue_at(refused(doc), "listeners[0].DefaultActions", "required", "default rule")


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


def test_two_listeners_on_one_port_are_refused() -> None:
    doc = base_doc()
    doc["listeners"].append(copy.deepcopy(doc["listeners"][0]))
    issue_at(refused(doc), "listeners[1].Port", "already used")


def test_unknown_listener_setting_is_refused() -> None:
    doc = base_doc()
    doc["listeners"][0]["albauth"]["adress"] = "127.0.0.1"
    issue_at(refused(doc), "listeners[0].albauth.adress", "unknown setting")


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


def test_fields_albauth_ignores_from_describe_output_are_accepted() -> None:
    arn = "arn:aws:elasticloadbalancing:...:listener-rule/app/x"
    doc = with_rules({**a_rule(), "RuleArn": arn, "IsDefault": False})
    doc["listeners"][0].update(ListenerArn="arn:aws:...", SslPolicy="ELBSecurityPolicy-2016-08")
    assert load(doc).listeners[0].rules[0].priority == 10


# --- Fields that would silently mean less (every accepted field is applied or refused) -------

def test_mutual_authentication_passthrough_is_refused() -> None:
    """ALB would pass any client certificate to targets unverified; albauth cannot take one unverified."""
    doc = base_doc()
    doc["listeners"][0]["MutualAuthentication"] = {"Mode": "passthrough"}
    issue_at(refused(doc), "listeners[0].MutualAuthentication.Mode", "not supported", "passthrough")


def test_mutual_authentication_verify_needs_the_trust_store_file() -> None:
    """verify is applied (tests/albapi/test_mutual_tls.py); the ARN alone names no CA bundle here."""
    doc = base_doc()
    doc["listeners"][0]["MutualAuthentication"] = {"Mode": "verify", "TrustStoreArn": "arn:aws:...:truststore/ts/1"}
    issue_at(refused(doc), "listeners[0].albauth.trust_store_file", "is required", "TrustStoreArn")


@pytest.mark.parametrize("mtls", [{"Mode": "off"}, {"Mode": "off", "IgnoreClientCertificateExpiry": False}, {}])
def test_mutual_authentication_off_is_accepted(mtls: dict[str, Any]) -> None:
    doc = base_doc()
    doc["listeners"][0]["MutualAuthentication"] = mtls
    assert load(doc).listeners[0].port == 8080


def test_mutual_authentication_unknown_mode_is_refused() -> None:
    doc = base_doc()
    doc["listeners"][0]["MutualAuthentication"] = {"Mode": "strict"}
    issue_at(refused(doc), "listeners[0].MutualAuthentication.Mode", "off, passthrough or verify")


def test_rule_with_empty_conditions_is_refused() -> None:
    """ALB refuses a non-default rule without conditions; albauth would have matched every request."""
    issue_at(refused(with_rules(a_rule(conditions=[]))), "listeners[0].Rules[0].Conditions",
             "at least one condition")


def test_default_rule_with_empty_conditions_is_accepted() -> None:
    doc = with_rules({"Priority": "default", "Conditions": [],
                      "Actions": [{"Type": "forward", "TargetGroupArn": "app"}]})
    del doc["listeners"][0]["DefaultActions"]
    rules = load(doc).listeners[0].rules
    assert [r.priority for r in rules] == [None]
