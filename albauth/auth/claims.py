"""Where a session's claims come from (`albauth: {claims_source: ...}`).

ALB puts the UserInfo response in `x-amzn-oidc-data` (spec 2.6), and that is the default.
Some providers put groups or roles only in the ID token (Entra ID's `groups`/`roles`,
Cognito's `cognito:groups`): `id_token` uses the ID token's claims instead, `merge` both,
UserInfo winning where they disagree. The ID token's protocol claims (who issued it, for
whom, when) describe the token, not the user, and are left out: the app's token has its own.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal

__all__ = ["ClaimsSource", "login_claims", "refreshed_claims"]

ClaimsSource = Literal["userinfo", "id_token", "merge"]

_PROTOCOL_CLAIMS = frozenset({"iss", "aud", "exp", "iat", "nbf", "jti", "nonce", "at_hash", "c_hash", "azp",
                              "auth_time", "acr", "amr", "sid"})


def _user_claims(id_claims: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in id_claims.items() if k not in _PROTOCOL_CLAIMS}


def login_claims(source: ClaimsSource, id_claims: Mapping[str, Any], userinfo: Mapping[str, Any],
                 userinfo_raw: bytes) -> tuple[dict[str, Any], int]:
    """The session's claims at login, and their size as ALB counts it (the JSON)."""
    return _combine(source, _user_claims(id_claims), userinfo, userinfo_raw)


def refreshed_claims(source: ClaimsSource, previous: Mapping[str, Any], userinfo: Mapping[str, Any],
                     userinfo_raw: bytes) -> tuple[dict[str, Any], int]:
    """After a refresh (which need not return a new ID token): fresh UserInfo, and for
    `id_token` the claims the login's ID token carried."""
    return _combine(source, previous, userinfo, userinfo_raw)


def _combine(source: ClaimsSource, base: Mapping[str, Any], userinfo: Mapping[str, Any],
             userinfo_raw: bytes) -> tuple[dict[str, Any], int]:
    if source == "userinfo":
        return dict(userinfo), len(userinfo_raw)
    claims = dict(base)
    if source == "merge":
        claims.update(userinfo)
    return claims, len(json.dumps(claims, separators=(",", ":")).encode())
