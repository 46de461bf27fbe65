"""Rule actions (albauth/config/actions.py): order, forward, fixed-response, redirect (spec 7.3)."""

from __future__ import annotations

from typing import Any

import pytest

from albauth.config.model import FixedResponseAction, ForwardAction, RedirectAction

from .helpers import (
    OIDC,
    a_rule,
    base_doc,
    issue_at,
    load,
    oidc_actions,
    refused,
    with_rules,
)


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


def forward_config(**config: Any) -> dict[str, Any]:
    return with_rules(a_rule(actions=[{"Type": "forward", "ForwardConfig": {
        "TargetGroups": [{"TargetGroupArn": "app", "Weight": 1}], **config}}]))


def test_enabled_target_group_stickiness_needs_its_duration() -> None:
    """Applied (tests/albapi/test_target_groups.py); Enabled without DurationSeconds is refused."""
    issue_at(refused(forward_config(TargetGroupStickinessConfig={"Enabled": "true"})),
             "listeners[0].Rules[0].Actions[0].ForwardConfig.TargetGroupStickinessConfig.DurationSeconds",
             "is required")


@pytest.mark.parametrize("stickiness", [{"Enabled": False}, {"Enabled": False, "DurationSeconds": 3600}, {}])
def test_disabled_target_group_stickiness_is_accepted(stickiness: dict[str, Any]) -> None:
    """Enabled defaults to false in the ELBv2 API."""
    action = load(forward_config(TargetGroupStickinessConfig=stickiness)).listeners[0].rules[0].action
    assert isinstance(action, ForwardAction) and [g.name for g in action.target_groups] == ["app"]


def two_groups() -> dict[str, Any]:
    doc = base_doc()
    doc["albauth"]["target_groups"]["api"] = {"targets": ["http://127.0.0.1:3001"]}
    return doc


@pytest.mark.parametrize("groups", [[{"TargetGroupArn": "api"}],
                                    [{"TargetGroupArn": "app", "Weight": 1}, {"TargetGroupArn": "api", "Weight": 1}]])
def test_target_group_arn_that_disagrees_with_forward_config_is_refused(groups: list[dict[str, Any]]) -> None:
    """ELBv2 API: with both, ForwardConfig must name exactly the target group TargetGroupArn names."""
    doc = two_groups()
    doc["listeners"][0]["Rules"] = [a_rule(actions=[{"Type": "forward", "TargetGroupArn": "app",
                                                     "ForwardConfig": {"TargetGroups": groups}}])]
    issue_at(refused(doc), "listeners[0].Rules[0].Actions[0].TargetGroupArn", "exactly this one", "api")


def test_target_group_arn_that_agrees_with_forward_config_is_accepted() -> None:
    doc = two_groups()
    doc["listeners"][0]["Rules"] = [a_rule(actions=[{"Type": "forward", "TargetGroupArn": "api",
                                                     "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": "api"}]}}])]
    action = load(doc).listeners[0].rules[0].action
    assert isinstance(action, ForwardAction) and [g.name for g in action.target_groups] == ["api"]
