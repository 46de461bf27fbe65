"""The token endpoint's answers (RFC 6749 §5.1, §5.2) and how the client proves who it
is to it (§2.3.1): parsing only, no I/O (`OidcClient` does the round trip).

Request construction is done here rather than with Authlib's helpers:
`authlib.oauth2.auth` puts the raw id and secret in the Basic header, where RFC 6749
§2.3.1 wants them form-urlencoded first.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import quote_plus

from albauth.auth.errors import InvalidTokenResponse
from albauth.auth.idtoken import peek

ClientAuthMethod = Literal["post", "basic"]


@dataclass(frozen=True)
class TokenSet:
    """A successful token response (RFC 6749 §5.1). Tokens are kept out of repr()."""

    access_token: str = field(repr=False)
    token_type: str
    expires_in: int | None
    refresh_token: str | None = field(repr=False)
    id_token: str | None = field(repr=False)
    raw: Mapping[str, Any] = field(repr=False)

    def access_token_expires_at(self, now: float) -> float | None:
        """When the access token expires (spec 4): `now + expires_in`; without
        `expires_in`, the `exp` of the access token if it is a JWT (read, not
        verified: it only schedules a refresh); otherwise unknown."""
        if self.expires_in is not None:
            return now + self.expires_in
        try:
            _, claims = peek(self.access_token)
        except ValueError:
            return None
        exp = claims.get("exp")
        if isinstance(exp, bool) or not isinstance(exp, (int, float)):
            return None
        return float(exp)


def _expires_in(value: Any) -> int | None:
    # RFC 6749 says a number; some providers send "3599". Anything else: unknown.
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _optional_str(doc: Mapping[str, Any], name: str) -> str | None:
    value = doc.get(name)
    return value if isinstance(value, str) and value else None


def parse_token_response(body: bytes, *, require_id_token: bool) -> TokenSet:
    """A 2xx token endpoint body. ALB's login needs an ID token (the `openid` scope);
    a refresh may or may not return a new one (OIDC Core §12.2)."""
    try:
        doc = json.loads(body)
    except ValueError:
        raise InvalidTokenResponse("token response is not JSON") from None
    if not isinstance(doc, dict):
        raise InvalidTokenResponse("token response is not a JSON object")
    access_token = _optional_str(doc, "access_token")
    if access_token is None:
        raise InvalidTokenResponse("token response has no access_token")
    id_token = _optional_str(doc, "id_token")
    if require_id_token and id_token is None:
        raise InvalidTokenResponse("token response has no id_token (is `openid` in the scope?)")
    return TokenSet(
        access_token=access_token,
        token_type=_optional_str(doc, "token_type") or "Bearer",
        expires_in=_expires_in(doc.get("expires_in")),
        refresh_token=_optional_str(doc, "refresh_token"),
        id_token=id_token,
        raw=doc,
    )


def parse_token_error(body: bytes) -> str | None:
    """The `error` code of an RFC 6749 §5.2 error response, if the body is one."""
    try:
        doc = json.loads(body)
    except ValueError:
        return None
    error = doc.get("error") if isinstance(doc, dict) else None
    return error if isinstance(error, str) else None


def client_secret_basic(client_id: str, client_secret: str) -> str:
    """The `Authorization` value for client_secret_basic: RFC 6749 §2.3.1 has id and
    secret form-urlencoded *before* they are joined with ':' and base64-encoded."""
    credentials = f"{quote_plus(client_id)}:{quote_plus(client_secret)}"
    return "Basic " + base64.b64encode(credentials.encode()).decode("ascii")


__all__ = [
    "ClientAuthMethod",
    "TokenSet",
    "client_secret_basic",
    "parse_token_error",
    "parse_token_response",
]
