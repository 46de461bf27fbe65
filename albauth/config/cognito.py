"""An authenticate-cognito action's OIDC endpoints and issuer, derived from its user pool
(spec 1.2.1): ALB reads them from Cognito itself; albauth computes them from `UserPoolArn`
and `UserPoolDomain`."""

from __future__ import annotations

import re
from dataclasses import dataclass

_COGNITO_ARN = re.compile(
    r"^arn:aws[a-z-]*:cognito-idp:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):userpool/(?P<pool>[a-z0-9-]+_[A-Za-z0-9]+)$")
ARN_SHAPE = "arn:aws:cognito-idp:<region>:<account>:userpool/<region>_<id>"
# Cognito's domain prefix: lowercase letters, digits and hyphens, not at either end.
_PREFIX = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_HOST_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")


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


def user_pool_domain_problem(domain: str) -> str | None:
    """Why `domain` is neither a prefix nor a custom domain's host name (None: it is one).
    UserPoolDomain is the bare prefix or host (`my-prefix`, `auth.example.com`), never a URL."""
    if "://" in domain or "/" in domain:
        return "must be the domain prefix or the custom domain's host name, not a URL (e.g. auth.example.com)"
    if "." in domain:
        if not all(_HOST_LABEL.match(label) for label in domain.split(".")):
            return f"{domain!r} is not a host name"
        return None
    if not _PREFIX.match(domain):
        return ("a domain prefix is lowercase letters, digits and hyphens (not first or last), "
                f"at most 63 characters; got {domain!r}")
    return None
