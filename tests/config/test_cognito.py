"""The authenticate-cognito action (albauth/config/cognito.py, authenticate.py): endpoints and issuer
derived from the user pool (spec 1.2.1, checklist 5-6)."""

from __future__ import annotations

from typing import Any

import pytest

from .helpers import (
    COGNITO_ARN,
    a_rule,
    issue_at,
    load,
    refused,
    with_rules,
)


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
