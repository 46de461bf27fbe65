"""Which of a user's claims a token or the UserInfo endpoint reveals, by scope.

OIDC Core 5.4 maps scopes to standard claims (authlib's `UserInfo.filter` holds that
table); `groups` and the user's extra claims are always included, as Cognito does with
`cognito:groups` and custom attributes, because ALB forwards them to the target
application in `x-amzn-oidc-data` and that is what applications authorize on.
"""

from __future__ import annotations

from typing import Any

from authlib.oidc.core import UserInfo

from .settings import IdpUser


def user_claims(user: IdpUser, scope: str) -> dict[str, Any]:
    """The user's claims for `scope`, `sub` first, in a stable order."""
    everything = UserInfo(
        sub=user.sub,
        name=user.name,
        preferred_username=user.username,
        email=user.email,
        email_verified=user.email_verified if user.email else None,
    )
    allowed = everything.filter(scope)
    claims: dict[str, Any] = {"sub": user.sub}
    claims.update((k, v) for k, v in allowed.items() if v is not None and k != "sub")
    claims["groups"] = list(user.groups)
    claims.update(user.claims)
    return claims
