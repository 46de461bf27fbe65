"""ID token and access token contents, verified with authlib.jose against /jwks."""

from __future__ import annotations

import warnings
from typing import Any

from albauth.clock import FakeClock
from albauth.devidp import DevIdP

from .conftest import START, StartIdp
from .flows import CLIENT_ID, HttpClient, basic, tokens_for

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)  # authlib.jose is deprecated in 1.9
    from authlib.jose import JsonWebKey, JsonWebToken

JWT = JsonWebToken(["RS256"])


async def verify(client: HttpClient, token: str) -> Any:
    """Decode with the published keys only: a bad signature or unknown kid raises."""
    jwks = await (await client.get("/jwks")).json()
    return JWT.decode(token, JsonWebKey.import_key_set(jwks))


async def test_id_token_claims(idp: DevIdP, client: HttpClient, clock: FakeClock) -> None:
    clock.advance(5)  # auth_time is when the password was typed
    body = await tokens_for(client, "alice", nonce="nonce-xyz")
    claims = await verify(client, body["id_token"])
    alice = idp.settings.user("alice")
    assert alice is not None
    assert claims.header["alg"] == "RS256" and claims.header["kid"] == idp.keys.kid
    assert claims["iss"] == idp.settings.issuer
    assert claims["aud"] == CLIENT_ID
    assert claims["sub"] == alice.sub
    assert claims["iat"] == int(START) + 5
    assert claims["exp"] == claims["iat"] + 300
    assert claims["auth_time"] == int(START) + 5
    assert claims["nonce"] == "nonce-xyz"
    assert claims["email"] == "alice@example.com" and claims["email_verified"] is True
    assert claims["name"] == "Alice Liddell"
    assert claims["groups"] == ["admins", "developers"]
    assert claims["department"] == "R&D"
    assert "at_hash" in claims
    claims.validate(now=int(clock()))


async def test_id_token_without_nonce_has_no_nonce(client: HttpClient) -> None:
    claims = await verify(client, (await tokens_for(client, nonce=None))["id_token"])
    assert "nonce" not in claims


async def test_refreshed_id_token_keeps_auth_time_and_moves_iat(client: HttpClient, clock: FakeClock) -> None:
    first = await tokens_for(client)
    clock.advance(400)
    resp = await client.post("/token", headers=basic(),
                             data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]})
    claims = await verify(client, (await resp.json())["id_token"])
    assert claims["iat"] == int(START) + 400
    assert claims["auth_time"] == int(START)
    assert claims["aud"] == CLIENT_ID


async def test_access_token_is_an_rs256_jwt(idp: DevIdP, client: HttpClient) -> None:
    body = await tokens_for(client, "bob")
    claims = await verify(client, body["access_token"])
    bob = idp.settings.user("bob")
    assert bob is not None
    assert claims.header["typ"] == "at+jwt"
    assert claims["iss"] == idp.settings.issuer
    assert claims["sub"] == bob.sub
    assert claims["aud"] == CLIENT_ID and claims["client_id"] == CLIENT_ID
    assert claims["scope"] == "openid email profile"
    assert claims["exp"] - claims["iat"] == 300
    assert claims["jti"]


async def test_tokens_after_rotation_use_the_new_kid_and_old_ones_still_verify(
        idp: DevIdP, client: HttpClient) -> None:
    before = (await tokens_for(client))["id_token"]
    new_kid = idp.rotate_key()
    after = (await tokens_for(client))["id_token"]
    assert (await verify(client, after)).header["kid"] == new_kid
    assert (await verify(client, before)).header["kid"] != new_kid


async def test_configured_lifetimes(start_idp: StartIdp) -> None:
    _, client = await start_idp(access_token_ttl=7, id_token_ttl=11)
    body = await tokens_for(client)
    assert body["expires_in"] == 7
    id_claims = await verify(client, body["id_token"])
    assert id_claims["exp"] - id_claims["iat"] == 11
