"""Spec 1.2.1, as a table: the URLs ALB derives from UserPoolArn and UserPoolDomain, for
prefix and custom domains across regions; and the domains that are neither."""

from __future__ import annotations

import pytest

from albauth.config.cognito import cognito_endpoints, parse_user_pool_arn, user_pool_domain_problem

from .helpers import a_rule, issue_at, refused, with_rules
from .test_cognito import cognito_actions

CASES = [
    # (UserPoolArn, UserPoolDomain, the domain's base URL, the issuer)
    ("arn:aws:cognito-idp:us-east-1:111122223333:userpool/us-east-1_AbCdEf123", "my-app",
     "https://my-app.auth.us-east-1.amazoncognito.com", "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbCdEf123"),
    ("arn:aws:cognito-idp:eu-west-1:111122223333:userpool/eu-west-1_AbCdEf", "my-prefix",
     "https://my-prefix.auth.eu-west-1.amazoncognito.com", "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf"),
    ("arn:aws:cognito-idp:ap-southeast-2:444455556666:userpool/ap-southeast-2_Zz9", "a-1",
     "https://a-1.auth.ap-southeast-2.amazoncognito.com",
     "https://cognito-idp.ap-southeast-2.amazonaws.com/ap-southeast-2_Zz9"),
    ("arn:aws-us-gov:cognito-idp:us-gov-west-1:111122223333:userpool/us-gov-west-1_Gov1", "gov",
     "https://gov.auth.us-gov-west-1.amazoncognito.com",
     "https://cognito-idp.us-gov-west-1.amazonaws.com/us-gov-west-1_Gov1"),
    # A custom domain is the host, whatever the pool's region; the issuer stays the pool's.
    ("arn:aws:cognito-idp:us-east-1:111122223333:userpool/us-east-1_AbCdEf123", "auth.example.com",
     "https://auth.example.com", "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbCdEf123"),
    ("arn:aws:cognito-idp:eu-central-1:111122223333:userpool/eu-central-1_X", "login.corp.example.co.uk",
     "https://login.corp.example.co.uk", "https://cognito-idp.eu-central-1.amazonaws.com/eu-central-1_X"),
]


@pytest.mark.parametrize(("arn", "domain", "base", "issuer"), CASES)
def test_endpoints_and_issuer_are_derived_as_alb_does(arn: str, domain: str, base: str, issuer: str) -> None:
    pool = parse_user_pool_arn(arn)
    assert pool is not None
    assert user_pool_domain_problem(domain) is None
    assert cognito_endpoints(pool.region, pool.pool_id, domain) == {
        "authorization_endpoint": f"{base}/oauth2/authorize",
        "token_endpoint": f"{base}/oauth2/token",
        "userinfo_endpoint": f"{base}/oauth2/userInfo",
        "logout_endpoint": f"{base}/logout",
        "issuer": issuer,
    }


@pytest.mark.parametrize("domain", ["https://auth.example.com", "auth.example.com/", "My-Prefix", "-prefix",
                                    "prefix-", "my_prefix", "auth..example.com", "a" * 64])
def test_a_domain_that_is_neither_a_prefix_nor_a_host_is_refused(domain: str) -> None:
    assert user_pool_domain_problem(domain) is not None
    issue_at(refused(with_rules(a_rule(actions=cognito_actions(domain)))),
             "listeners[0].Rules[0].Actions[0].AuthenticateCognitoConfig.UserPoolDomain", "")
