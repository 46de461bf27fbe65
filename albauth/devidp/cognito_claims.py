"""Tokens and UserInfo shaped as an Amazon Cognito user pool issues them (Cognito mode).

Apps written for `authenticate-cognito` read Cognito's names: `cognito:username` and
`cognito:groups` in the ID token, `token_use` to tell an ID token from an access token,
`username` and `client_id` (and no `aud`) in the access token, and UserInfo with
`username`, `email_verified` as the string "true"/"false", and custom attributes as
`custom:<name>`. The ID and access tokens of one sign-in share `event_id` and
`origin_jti`, which refreshed tokens keep.
"""

from __future__ import annotations

import uuid
from typing import Any

from .models import SignedInUser
from .settings import IdpUser

# Cognito's standard attributes (OIDC Core 5.1's names): the rest of a user's claims are
# custom attributes, which Cognito always names `custom:<name>`.
STANDARD_ATTRIBUTES = frozenset({
    "address", "birthdate", "email", "email_verified", "family_name", "gender", "given_name", "locale",
    "middle_name", "name", "nickname", "phone_number", "phone_number_verified", "picture",
    "preferred_username", "profile", "updated_at", "website", "zoneinfo",
})
# Cognito's access tokens are "version 2" since 2023 (scopes and groups of the app client).
ACCESS_TOKEN_VERSION = 2


def attribute_name(name: str) -> str:
    """A users-file claim's Cognito name: `department` is the custom attribute `custom:department`."""
    if name in STANDARD_ATTRIBUTES or name.startswith("custom:"):
        return name
    return f"custom:{name}"


def user_attributes(user: IdpUser) -> dict[str, Any]:
    """The user's attributes, as Cognito stores them (custom ones prefixed)."""
    attributes: dict[str, Any] = {}
    if user.email:
        attributes["email"] = user.email
        attributes["email_verified"] = user.email_verified
    if user.name:
        attributes["name"] = user.name
    attributes.update((attribute_name(k), v) for k, v in user.claims.items())
    return attributes


def userinfo(user: IdpUser) -> dict[str, Any]:
    """/oauth2/userInfo's answer. Cognito sends every attribute as a string there, the
    booleans as "true"/"false", and no groups (those are only in the tokens)."""
    body: dict[str, Any] = {"sub": user.sub}
    for name, value in user_attributes(user).items():
        body[name] = _as_attribute_string(value)
    body["username"] = user.username
    return body


def _as_attribute_string(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def id_token_claims(signed_in: SignedInUser) -> dict[str, Any]:
    """What the ID token adds to iss/aud/iat/exp/auth_time/at_hash/nonce (set by the grant)."""
    user = signed_in.user
    claims: dict[str, Any] = {"sub": user.sub}
    if user.groups:  # Cognito leaves the claim out for a user in no group
        claims["cognito:groups"] = list(user.groups)
    claims.update(user_attributes(user))
    claims.update({
        "cognito:username": user.username,
        "origin_jti": signed_in.origin_jti or str(uuid.uuid4()),
        "event_id": signed_in.event_id or str(uuid.uuid4()),
        "token_use": "id",
        "jti": str(uuid.uuid4()),
    })
    return claims


def access_token_claims(signed_in: SignedInUser, *, issuer: str, client_id: str, scope: str,
                        now: int, ttl: int) -> dict[str, Any]:
    """An access token's claims, in Cognito's order; no `aud` (Cognito sends `client_id`)."""
    user = signed_in.user
    claims: dict[str, Any] = {"sub": user.sub}
    if user.groups:
        claims["cognito:groups"] = list(user.groups)
    claims.update({
        "iss": issuer,
        "version": ACCESS_TOKEN_VERSION,
        "client_id": client_id,
        "origin_jti": signed_in.origin_jti or str(uuid.uuid4()),
        "event_id": signed_in.event_id or str(uuid.uuid4()),
        "token_use": "access",
        "scope": scope,
        "auth_time": signed_in.auth_time,
        "exp": now + ttl,
        "iat": now,
        "jti": str(uuid.uuid4()),
        "username": user.username,
    })
    return claims
