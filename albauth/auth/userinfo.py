"""The UserInfo endpoint's answer (OIDC Core §5.3.2): parsing and the subject check,
no I/O (`OidcClient` does the round trip)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from albauth.auth.errors import InvalidUserinfoResponse


@dataclass(frozen=True)
class UserInfo:
    claims: Mapping[str, Any]  # the JSON object, in the provider's key order
    raw: bytes = field(repr=False)  # the body as sent, for ALB's 11 KiB check

    @property
    def sub(self) -> str:
        return str(self.claims["sub"])


def parse_userinfo_response(body: bytes) -> UserInfo:
    """A 2xx UserInfo body: a JSON object with a string `sub` (OIDC Core §5.3.2).
    A signed/encrypted (application/jwt) answer is not supported, as at ALB."""
    try:
        claims = json.loads(body)
    except ValueError:
        raise InvalidUserinfoResponse("userinfo response is not JSON") from None
    if not isinstance(claims, dict):
        raise InvalidUserinfoResponse("userinfo response is not a JSON object")
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:
        raise InvalidUserinfoResponse("userinfo response has no sub")
    return UserInfo(claims=claims, raw=bytes(body))


def check_userinfo_subject(info: UserInfo, sub: str | None) -> None:
    """OIDC Core §5.3.2: the UserInfo `sub` must equal the ID token's (or, on a refresh,
    the session's); otherwise the answer is about someone else and MUST NOT be used."""
    if sub is not None and info.sub != sub:
        raise InvalidUserinfoResponse("userinfo sub does not match the ID token sub")


__all__ = ["UserInfo", "check_userinfo_subject", "parse_userinfo_response"]
