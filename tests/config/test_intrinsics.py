"""CloudFormation short-form functions in a pasted template (albauth/config/intrinsics.py): a
target group named with `!Ref`/`!GetAtt` is read as that name; a function anywhere a literal
value is needed is refused, never taken literally."""

from __future__ import annotations

import pytest

from albauth.config.model import ForwardAction

from .helpers import FILE, config_error, issue_at, settings_from_yaml

DOC = """
albauth:
  admin_listen: off
  target_groups: {{AppTargetGroup: {{targets: ["http://127.0.0.1:3000"]}}}}
listeners:
  - Protocol: HTTP
    Port: 8080
    ListenerArn: !Ref HttpsListener
    Certificates: [{{CertificateArn: !Ref Certificate}}]
    albauth: {{address: 127.0.0.1, local_development: true}}
    DefaultActions:
      - Type: authenticate-oidc
        Order: 1
        AuthenticateOidcConfig:
          Issuer: {issuer}
          ClientId: {client_id}
          ClientSecret: {secret}
      - Type: forward
        Order: 2
        TargetGroupArn: {target}
"""
GOOD = {"issuer": "https://idp.example.com", "client_id": "app", "secret": "s3cr3t", "target": "!Ref AppTargetGroup"}
OIDC = "listeners[0].DefaultActions[0].AuthenticateOidcConfig"


@pytest.mark.parametrize(("field", "value"), [
    ("secret", "!Ref OidcClientSecret"),
    ("secret", "!Sub '{{resolve:secretsmanager:oidc}}'"),
    ("client_id", "!GetAtt Client.ClientId"),
    ("issuer", "!Sub 'https://${Domain}'"),
    ("issuer", "!Join ['', [https://, !Ref Domain]]"),
    ("secret", "!ImportValue SharedSecret"),
])
def test_a_function_where_a_literal_is_needed_is_refused(field: str, value: str) -> None:
    key = {"secret": "ClientSecret", "client_id": "ClientId", "issuer": "Issuer"}[field]
    error = config_error(DOC.format(**{**GOOD, field: value}))
    issue = issue_at(error, f"{OIDC}.{key}", "CloudFormation function", "${VAR}")
    assert issue.message.startswith("!" + value[1:].split()[0])
    assert [i.key for i in error.issues] == [f"{OIDC}.{key}"]  # the one problem at that key


def test_a_function_naming_the_target_group_is_accepted() -> None:
    for target in ("!Ref AppTargetGroup", "!GetAtt AppTargetGroup.TargetGroupArn",
                   "!GetAtt [AppTargetGroup, TargetGroupArn]"):
        settings = settings_from_yaml(DOC.format(**{**GOOD, "target": target}))
        action = settings.listeners[0].rules[0].action
        assert isinstance(action, ForwardAction) and action.target_groups[0].name == "AppTargetGroup", target
        assert settings.listeners[0].rules[0].authenticate is not None


def test_a_sub_naming_the_target_group_is_refused() -> None:
    error = config_error(DOC.format(**{**GOOD, "target": "!Sub '${AWS::StackName}-app'"}))
    issue_at(error, "listeners[0].DefaultActions[1].TargetGroupArn", "!Sub", "!Ref or !GetAtt", file=FILE)
