"""OpenID Connect Back-Channel Logout 1.0, the receiving side
(`albauth: {backchannel_logout_path: ...}`; off by default, ALB has nothing like it).

The provider POSTs `logout_token=<JWT>` when a user's session there ends; we validate it
(section 2.6) and end that user's sessions of this rule binding in the store, on every
replica at once with Redis. 200 when done, 400 for a token that fails validation (2.8).
The cookie store has no server-side session to end: 501, with the reason.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from albauth.auth.bound import BoundAction
from albauth.auth.errors import IdPError
from albauth.auth.idtoken import LEEWAY, check_algorithm, numeric_claim, peek
from albauth.auth.oidc_client import OidcClient
from albauth.clock import Clock
from albauth.error_pages import SERVER
from albauth.ops.log_values import printable
from albauth.session.errors import SessionStoreError
from albauth.session.store import SessionStore

log = logging.getLogger("albauth.auth")

LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"
#: A token without `exp` (drafts before 1.0 final) is accepted this long after its `iat`.
MAX_AGE_WITHOUT_EXP = 600


class InvalidLogoutToken(Exception):
    pass


async def backchannel_logout(store: SessionStore, clock: Clock, request: web.BaseRequest,
                             bound: BoundAction) -> web.StreamResponse:
    if request.method != "POST":
        return _answer(405, {"error": "invalid_request", "error_description": "POST only"},
                       Allow="POST")
    if not store.can_revoke:
        return _answer(501, {"error": "not_supported", "error_description":
                             "the cookie session store keeps no session on the server, so there "
                             "is nothing to revoke: use the memory or Redis store"})
    form = await request.post()
    token = form.get("logout_token")
    if not isinstance(token, str) or not token:
        return _answer(400, {"error": "invalid_request", "error_description": "no logout_token"})
    try:
        claims = await validate_logout_token(bound.client, token, now=clock())
    except InvalidLogoutToken as exc:
        log.info("back-channel logout refused: %s", printable(str(exc)))
        return _answer(400, {"error": "invalid_request", "error_description": str(exc)})
    sub, sid = claims.get("sub"), claims.get("sid")
    try:
        # Only this binding's sessions: other clients or issuers, whose `sub` values may
        # coincide, get their own logout tokens. Both given: sessions matching both (2.4).
        count = await store.revoke(binding=bound.binding, sub=sub, idp_sid=sid)
    except SessionStoreError as exc:
        log.error("session store failed during back-channel logout: %s", exc)
        return _answer(503, {"error": "temporarily_unavailable"})
    log.info("back-channel logout: %d session(s) ended", count)
    return _answer(200, None)


def _answer(status: int, body: Mapping[str, Any] | None, **headers: str) -> web.Response:
    # Section 2.8: the response must not be cached.
    hdrs = {"Cache-Control": "no-store", "Server": SERVER, **headers}
    if body is None:
        return web.Response(status=status, headers=hdrs)
    return web.Response(status=status, text=json.dumps(body), content_type="application/json",
                        headers=hdrs)


async def validate_logout_token(client: OidcClient, token: str, *, now: float,
                                leeway: float = LEEWAY) -> Mapping[str, Any]:
    """Section 2.6: a JWT signed by the provider (its JWKS), for us, recent, carrying the
    back-channel logout event and a `sub` and/or `sid`, and no `nonce`."""
    try:
        header, claims = peek(token)
        check_algorithm(header)
    except (ValueError, IdPError) as exc:
        raise InvalidLogoutToken(f"malformed logout token: {exc}") from None
    try:
        jwks_uri = (await client.metadata()).jwks_uri
    except IdPError as exc:
        raise InvalidLogoutToken(f"the provider's keys are unavailable: {exc}") from None
    if jwks_uri is None:
        raise InvalidLogoutToken("the provider's JWKS is unknown (set albauth.jwks_uri): "
                                 "the signature cannot be checked")
    try:
        # The client's JWKS cache (refetched once on an unknown kid), as for ID tokens.
        await client.verify_signature(token, jwks_uri)
    except IdPError as exc:
        raise InvalidLogoutToken(str(exc).replace("ID token", "logout token")) from None
    _check_claims(claims, issuer=client.issuer, client_id=client.client_id, now=now, leeway=leeway)
    return claims


def _number(claims: Mapping[str, Any], name: str) -> float | None:
    return numeric_claim(claims, name, InvalidLogoutToken)


def _check_claims(claims: Mapping[str, Any], *, issuer: str, client_id: str, now: float,
                  leeway: float) -> None:
    if claims.get("iss") != issuer:
        raise InvalidLogoutToken("iss is not the provider's issuer")
    aud = claims.get("aud")
    if client_id not in ([aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []):
        raise InvalidLogoutToken("aud does not contain the client_id")
    iat = _number(claims, "iat")
    if iat is None:
        raise InvalidLogoutToken("iat is missing")
    if iat - leeway > now:
        raise InvalidLogoutToken("iat is in the future")
    exp = _number(claims, "exp")
    if exp is not None and exp + leeway <= now:
        raise InvalidLogoutToken("the logout token has expired")
    if exp is None and now - iat > MAX_AGE_WITHOUT_EXP + leeway:
        raise InvalidLogoutToken("the logout token is too old")
    events = claims.get("events")
    if not isinstance(events, dict) or not isinstance(events.get(LOGOUT_EVENT), dict):
        raise InvalidLogoutToken(f"events does not contain {LOGOUT_EVENT}")
    sub, sid = claims.get("sub"), claims.get("sid")
    if sub is None and sid is None:
        raise InvalidLogoutToken("neither sub nor sid is present")
    if not all(v is None or (isinstance(v, str) and v) for v in (sub, sid)):
        raise InvalidLogoutToken("sub and sid must be strings")
    if "nonce" in claims:  # 2.4: prevents an ID token from being used as a logout token
        raise InvalidLogoutToken("a logout token must not contain a nonce")
