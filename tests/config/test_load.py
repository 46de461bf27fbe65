"""Loading a file (albauth/config/load.py): YAML errors with their line, the document's top level,
every problem at once, unknown keys, CloudFormation pastes (checklist 8)."""

from __future__ import annotations

import pytest

from albauth.config.model import ForwardAction

from .helpers import (
    FILE,
    a_rule,
    base_doc,
    config_error,
    issue_at,
    oidc_actions,
    refused,
    settings_from_yaml,
    with_rules,
)


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


def test_missing_listeners_is_refused() -> None:
    doc = base_doc()
    del doc["listeners"]
    issue_at(refused(doc), "listeners", "required")


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
