"""An authenticate-cognito action's OIDC endpoints and issuer, derived from its user pool
(spec 1.2.1): ALB reads them from Cognito itself; albauth computes them from `UserPoolArn`
and `UserPoolDomain`."""

from __future__ import annotations

import re
from dataclasses import dataclass

_COGNITO_ARN = re.compile(
    r"^arn:aws[a-z-]*:cognito-idp:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):userpool/(?P<pool>[a-z0-9-]+_[A-Za-z0-9]+)$")
ARN_SHAPE = "arn:aws:cognito-idp:<region>:<account>:userpool/<region>_<id>"


@dataclass(frozen=True)
class UserPool:
    region: str
    pool_id: str


def parse_user_pool_arn(arn: str) -> UserPool | None:
    """The pool's region and id, or None when `arn` is not a Cognito user pool ARN."""
    m = _COGNITO_ARN.match(arn)
    return UserPool(m["region"], m["pool"]) if m else None


def cognito_endpoints(region: str, pool_id: str, domain: str) -> dict[str, str]:
    """Spec 1.2.1: a domain with a dot is a custom domain, otherwise a prefix."""
    base = f"https://{domain}" if "." in domain else f"https://{domain}.auth.{region}.amazoncognito.com"
    return {
        "authorization_endpoint": f"{base}/oauth2/authorize",
        "token_endpoint": f"{base}/oauth2/token",
        "userinfo_endpoint": f"{base}/oauth2/userInfo",
        "logout_endpoint": f"{base}/logout",
        "issuer": f"https://cognito-idp.{region}.amazonaws.com/{pool_id}",
    }
