"""Cognito mode (`albauth idp --cognito`): a user pool's hosted-domain paths, its issuer
path with discovery and JWKS under it, and tokens and UserInfo shaped as Cognito's."""

from __future__ import annotations

from typing import Any

import jwt as pyjwt
import pytest
from aiohttp.test_utils import unused_port

from albauth.clock import FakeClock
from albauth.devidp import CognitoPool, DevIdP, cognito_claims, load_idp_settings
from albauth.devidp.settings import parse_idp_settings

from .flows import CLIENT_ID, REDIRECT_URI, HttpClient, authorize_params, basic, parse_form, query_of

POOL = CognitoPool("eu-central-1", "eu-central-1_Test12345")


@pytest.fixture
async def cognito(aiohttp_server: Any, aiohttp_client: Any, clock: FakeClock) -> tuple[DevIdP, HttpClient]:
    port = unused_port()
    idp = DevIdP(load_idp_settings(None, f"http://127.0.0.1:{port}", cognito=POOL), clock=clock)
    server = await aiohttp_server(idp.app, port=port)
    return idp, await aiohttp_client(server)


async def sign_in(client: HttpClient, username: str = "alice") -> dict[str, str]:
    """/oauth2/authorize -> 302 /login -> the form, posted: the query the client receives."""
    resp = await client.get("/oauth2/authorize", params=authorize_params(), allow_redirects=False)
    assert resp.status == 302 and resp.headers["Location"].startswith("/login?")
    page = await client.get(resp.headers["Location"])
    assert page.status == 200
    form = parse_form(await page.text())
    posted = await client.post(form.action, data={**form.fields, "username": username,
                                                  "password": username, "action": "login"},
                               allow_redirects=False)
    assert posted.status == 302, await posted.text()
    return query_of(posted.headers["Location"])


async def tokens(client: HttpClient, username: str = "alice") -> dict[str, Any]:
    code = (await sign_in(client, username))["code"]
    resp = await client.post("/oauth2/token", headers=basic(), data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI})
    assert resp.status == 200, await resp.text()
    body: dict[str, Any] = await resp.json()
    return body


async def verified(client: HttpClient, idp: DevIdP, token: str, audience: str | None = None) -> dict[str, Any]:
    """The token's claims, checked against the pool's published JWKS and issuer (and
    audience: an access token has none); expiry is the FakeClock's business."""
    jwks = await (await client.get(f"/{POOL.pool_id}/.well-known/jwks.json")).json()
    key = pyjwt.PyJWK(jwks["keys"][0]).key
    claims: dict[str, Any] = pyjwt.decode(token, key, algorithms=["RS256"], issuer=idp.settings.issuer,
                                          audience=audience,
                                          options={"verify_aud": audience is not None, "verify_exp": False})
    return claims


async def test_the_issuer_is_the_pool_path_with_discovery_and_jwks_under_it(
        cognito: tuple[DevIdP, HttpClient]) -> None:
    idp, client = cognito
    domain = idp.settings.hosted_domain
    assert idp.settings.issuer == f"{domain}/{POOL.pool_id}"
    doc = await (await client.get(f"/{POOL.pool_id}/.well-known/openid-configuration")).json()
    assert doc["issuer"] == idp.settings.issuer
    assert doc["jwks_uri"] == f"{idp.settings.issuer}/.well-known/jwks.json"
    assert (doc["authorization_endpoint"], doc["token_endpoint"], doc["userinfo_endpoint"]) == (
        f"{domain}/oauth2/authorize", f"{domain}/oauth2/token", f"{domain}/oauth2/userInfo")
    assert "end_session_endpoint" not in doc  # Cognito's /logout is not RP-Initiated Logout
    # The generic provider's paths are not a user pool's.
    assert (await client.get("/authorize", params=authorize_params())).status == 404


async def test_the_login_page_says_it_stands_in_for_the_pool(cognito: tuple[DevIdP, HttpClient]) -> None:
    _, client = cognito
    page = await client.get("/login", params=authorize_params())
    text = await page.text()
    assert "Amazon Cognito stand-in" in text and POOL.pool_id in text
    assert parse_form(text).action == "/login"


async def test_id_token_is_shaped_as_cognitos(cognito: tuple[DevIdP, HttpClient]) -> None:
    idp, client = cognito
    body = await tokens(client)
    claims = await verified(client, idp, body["id_token"], audience=CLIENT_ID)
    assert claims["token_use"] == "id"
    assert claims["cognito:username"] == "alice"
    assert claims["cognito:groups"] == ["admins", "developers"]
    assert claims["custom:department"] == "R&D" and "department" not in claims
    assert claims["email"] == "alice@example.com" and claims["email_verified"] is True
    assert claims["auth_time"] == int(idp.clock()) and claims["nonce"] == "n-456"
    for name in ("event_id", "origin_jti", "jti", "at_hash"):
        assert isinstance(claims[name], str) and claims[name]


async def test_access_token_is_shaped_as_cognitos(cognito: tuple[DevIdP, HttpClient]) -> None:
    idp, client = cognito
    body = await tokens(client)
    access = await verified(client, idp, body["access_token"])
    ident = await verified(client, idp, body["id_token"], audience=CLIENT_ID)
    assert "typ" not in pyjwt.get_unverified_header(body["access_token"])
    assert "aud" not in access  # Cognito names the client in client_id
    assert (access["token_use"], access["client_id"], access["username"]) == ("access", CLIENT_ID, "alice")
    assert access["scope"] == "openid email profile" and access["version"] == 2
    assert access["cognito:groups"] == ["admins", "developers"]
    assert access["auth_time"] == ident["auth_time"]
    # One sign-in: the two tokens share its event and token family, not their own ids.
    assert (access["event_id"], access["origin_jti"]) == (ident["event_id"], ident["origin_jti"])
    assert access["jti"] != ident["jti"]


async def test_refreshed_tokens_keep_the_sign_ins_event_and_origin(cognito: tuple[DevIdP, HttpClient]) -> None:
    idp, client = cognito
    first = await tokens(client)
    resp = await client.post("/oauth2/token", headers=basic(), data={
        "grant_type": "refresh_token", "refresh_token": first["refresh_token"]})
    assert resp.status == 200, await resp.text()
    again = await resp.json()
    before = await verified(client, idp, first["access_token"])
    after = await verified(client, idp, again["access_token"])
    assert (after["event_id"], after["origin_jti"]) == (before["event_id"], before["origin_jti"])
    assert after["jti"] != before["jti"]


async def test_userinfo_is_shaped_as_cognitos(cognito: tuple[DevIdP, HttpClient]) -> None:
    idp, client = cognito
    access = (await tokens(client))["access_token"]
    resp = await client.get("/oauth2/userInfo", headers={"Authorization": f"Bearer {access}"})
    assert resp.status == 200
    info = await resp.json()
    alice = idp.settings.user("alice")
    assert alice is not None
    assert info == {"sub": alice.sub, "email": "alice@example.com", "email_verified": "true",
                    "name": "Alice Liddell", "custom:department": "R&D", "username": "alice"}


async def test_userinfo_refuses_an_id_token(cognito: tuple[DevIdP, HttpClient]) -> None:
    _, client = cognito
    id_token = (await tokens(client))["id_token"]
    resp = await client.get("/oauth2/userInfo", headers={"Authorization": f"Bearer {id_token}"})
    assert resp.status == 401


async def test_userinfo_refuses_an_expired_access_token(cognito: tuple[DevIdP, HttpClient]) -> None:
    idp, client = cognito
    access = (await tokens(client))["access_token"]
    assert isinstance(idp.clock, FakeClock)
    idp.clock.advance(idp.settings.access_token_ttl + 1)
    resp = await client.get("/oauth2/userInfo", headers={"Authorization": f"Bearer {access}"})
    assert resp.status == 401


async def test_a_second_sign_in_is_silent_until_logout_ends_the_pool_session(
        cognito: tuple[DevIdP, HttpClient]) -> None:
    """The hosted UI remembers the user (as Cognito's `cognito` cookie does) until /logout."""
    _, client = cognito
    await sign_in(client)
    silent = await client.get("/oauth2/authorize", params=authorize_params(), allow_redirects=False)
    assert silent.status == 302 and "code" in query_of(silent.headers["Location"])
    out = await client.get("/logout", allow_redirects=False, params={
        "client_id": CLIENT_ID, "logout_uri": "http://127.0.0.1:8080/signed-out"})
    assert (out.status, out.headers["Location"]) == (302, "http://127.0.0.1:8080/signed-out")
    asked = await client.get("/oauth2/authorize", params=authorize_params(), allow_redirects=False)
    assert asked.status == 302 and asked.headers["Location"].startswith("/login?")


def test_userinfo_strings_email_verified_and_prefixes_custom_attributes() -> None:
    settings = parse_idp_settings("""
users:
  - {username: dave, password: dave, email: dave@example.com, email_verified: false,
     claims: {team: blue, "custom:tier": gold, given_name: Dave}}
clients:
  - {client_id: c, client_secret: s, redirect_uris: ["https://*/oauth2/idpresponse"]}
""", "users.yaml", "http://127.0.0.1:9000", cognito=POOL)
    dave = settings.user("dave")
    assert dave is not None
    assert cognito_claims.userinfo(dave) == {
        "sub": dave.sub, "email": "dave@example.com", "email_verified": "false", "custom:team": "blue",
        "custom:tier": "gold", "given_name": "Dave", "username": "dave"}
    assert settings.cognito == POOL and settings.remember_login  # the hosted UI remembers, by default
