"""The token endpoint: the authorization-code and refresh-token grants, client
authentication, PKCE, and every way a redemption is refused."""

from __future__ import annotations

from dataclasses import replace

from authlib.oauth2.rfc7636 import create_s256_code_challenge

from albauth.clock import FakeClock
from albauth.devidp import DevIdP, IdpSettings

from .conftest import StartIdp
from .flows import CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, HttpClient, basic, redeem, sign_in, tokens_for

VERIFIER = "v" * 43 + "-._~0123456789"


async def test_code_grant_with_client_secret_basic(idp: DevIdP, client: HttpClient) -> None:
    code = (await sign_in(client))["code"]
    resp = await redeem(client, code)
    assert resp.status == 200
    assert resp.headers["Cache-Control"] == "no-store"
    body = await resp.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 300
    assert body["scope"] == "openid email profile"
    assert {"access_token", "id_token", "refresh_token"} <= body.keys()
    event = idp.events[-1]
    assert (event.endpoint, event.grant_type, event.client_auth, event.status) == (
        "token", "authorization_code", "client_secret_basic", 200)
    assert idp.count("token", "authorization_code") == 1


async def test_code_grant_with_client_secret_post(idp: DevIdP, client: HttpClient) -> None:
    code = (await sign_in(client))["code"]
    resp = await client.post("/token", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI,
        "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET})
    assert resp.status == 200, await resp.text()
    assert "id_token" in await resp.json()
    assert idp.events[-1].client_auth == "client_secret_post"


async def test_without_openid_scope_there_is_no_id_token(client: HttpClient) -> None:
    body = await tokens_for(client, scope="email")
    assert "id_token" not in body and body["scope"] == "email"


async def test_bad_secret_is_invalid_client_401(client: HttpClient) -> None:
    code = (await sign_in(client))["code"]
    resp = await client.post(
        "/token", data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI},
        headers=basic(secret="wrong"))
    assert resp.status == 401
    assert (await resp.json())["error"] == "invalid_client"
    # The failed attempt did not use up the code.
    assert (await redeem(client, code)).status == 200


async def test_unknown_client_is_invalid_client_401_with_either_method(client: HttpClient) -> None:
    code = (await sign_in(client))["code"]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}
    by_basic = await client.post("/token", data=form, headers=basic("nobody", "x"))
    by_post = await client.post("/token", data={**form, "client_id": "nobody", "client_secret": "x"})
    for resp in (by_basic, by_post):
        assert resp.status == 401
        assert (await resp.json())["error"] == "invalid_client"


async def test_redirect_uri_must_match_the_authorization_request(client: HttpClient) -> None:
    code = (await sign_in(client))["code"]
    resp = await redeem(client, code, redirect_uri="http://localhost:9999/oauth2/idpresponse")
    assert resp.status == 400
    assert (await resp.json())["error"] == "invalid_grant"


async def test_a_code_works_once(client: HttpClient) -> None:
    code = (await sign_in(client))["code"]
    assert (await redeem(client, code)).status == 200
    again = await redeem(client, code)
    assert again.status == 400
    assert (await again.json())["error"] == "invalid_grant"


async def test_unknown_code_is_invalid_grant(client: HttpClient) -> None:
    resp = await redeem(client, "not-a-code")
    assert (resp.status, (await resp.json())["error"]) == (400, "invalid_grant")


async def test_code_expires_after_code_ttl(client: HttpClient, clock: FakeClock) -> None:
    code = (await sign_in(client))["code"]
    clock.advance(60)
    resp = await redeem(client, code)
    assert (resp.status, (await resp.json())["error"]) == (400, "invalid_grant")


async def test_code_just_inside_code_ttl_works(client: HttpClient, clock: FakeClock) -> None:
    code = (await sign_in(client))["code"]
    clock.advance(59)
    assert (await redeem(client, code)).status == 200


async def test_pkce_s256_with_the_right_verifier(client: HttpClient) -> None:
    challenge = create_s256_code_challenge(VERIFIER)
    code = (await sign_in(client, code_challenge=challenge, code_challenge_method="S256"))["code"]
    resp = await redeem(client, code, code_verifier=VERIFIER)
    assert resp.status == 200, await resp.text()


async def test_pkce_s256_with_a_wrong_verifier_is_invalid_grant(client: HttpClient) -> None:
    challenge = create_s256_code_challenge(VERIFIER)
    code = (await sign_in(client, code_challenge=challenge, code_challenge_method="S256"))["code"]
    wrong = await redeem(client, code, code_verifier="w" * 50)
    assert (wrong.status, (await wrong.json())["error"]) == (400, "invalid_grant")
    missing = await redeem(client, code)
    assert (missing.status, (await missing.json())["error"]) == (400, "invalid_request")


async def test_pkce_plain_is_refused_at_authorize(client: HttpClient) -> None:
    resp = await client.get("/authorize", allow_redirects=False, params={
        "response_type": "code", "client_id": CLIENT_ID, "redirect_uri": REDIRECT_URI,
        "scope": "openid", "state": "s", "code_challenge": VERIFIER, "code_challenge_method": "plain"})
    assert resp.status == 302
    assert "error=invalid_request" in resp.headers["Location"]


async def test_unsupported_grant_type(client: HttpClient) -> None:
    resp = await client.post("/token", data={"grant_type": "password"}, headers=basic())
    assert (resp.status, (await resp.json())["error"]) == (400, "unsupported_grant_type")


# -- refresh --

async def refresh(client: HttpClient, refresh_token: str) -> tuple[int, dict[str, str]]:
    resp = await client.post("/token", headers=basic(),
                             data={"grant_type": "refresh_token", "refresh_token": refresh_token})
    return resp.status, await resp.json()


async def test_refresh_returns_new_access_and_id_token_and_keeps_the_refresh_token(
        idp: DevIdP, client: HttpClient, clock: FakeClock) -> None:
    first = await tokens_for(client)
    clock.advance(120)
    status, body = await refresh(client, first["refresh_token"])
    assert status == 200, body
    assert body["access_token"] != first["access_token"]
    assert body["id_token"] != first["id_token"]
    assert "refresh_token" not in body  # not rotated: the old one stays valid, like Cognito
    assert (await refresh(client, first["refresh_token"]))[0] == 200
    assert idp.count("token", "refresh_token") == 2


async def test_refresh_token_rotation_when_the_client_asks_for_it(
        start_idp: StartIdp, settings: IdpSettings) -> None:
    rotating = replace(settings.clients[0], rotate_refresh_tokens=True)
    _, client = await start_idp(clients=(rotating,))
    first = await tokens_for(client)
    status, body = await refresh(client, first["refresh_token"])
    assert status == 200 and body["refresh_token"] != first["refresh_token"]
    assert (await refresh(client, first["refresh_token"]))[1]["error"] == "invalid_grant"
    assert (await refresh(client, body["refresh_token"]))[0] == 200


async def test_no_refresh_token_when_the_client_disables_them(
        start_idp: StartIdp, settings: IdpSettings) -> None:
    _, client = await start_idp(clients=(replace(settings.clients[0], issue_refresh_tokens=False),))
    assert "refresh_token" not in await tokens_for(client)


async def test_revoked_refresh_token_is_invalid_grant(idp: DevIdP, client: HttpClient) -> None:
    alice = await tokens_for(client, "alice")
    bob = await tokens_for(client, "bob")
    idp.revoke_refresh_tokens(sub=idp.settings.user("alice").sub)  # type: ignore[union-attr]
    status, body = await refresh(client, alice["refresh_token"])
    assert (status, body["error"]) == (400, "invalid_grant")
    assert (await refresh(client, bob["refresh_token"]))[0] == 200
    idp.revoke_refresh_tokens()
    assert (await refresh(client, bob["refresh_token"]))[1]["error"] == "invalid_grant"


async def test_unknown_refresh_token_is_invalid_grant(client: HttpClient) -> None:
    status, body = await refresh(client, "nope")
    assert (status, body["error"]) == (400, "invalid_grant")


async def test_refresh_token_expires(client: HttpClient, clock: FakeClock) -> None:
    first = await tokens_for(client)
    clock.advance(86400)
    status, body = await refresh(client, first["refresh_token"])
    assert (status, body["error"]) == (400, "invalid_grant")


async def test_issue_code_helper_skips_the_browser(idp: DevIdP, client: HttpClient) -> None:
    code = idp.issue_code("bob", CLIENT_ID, REDIRECT_URI, scope="openid email", nonce="abc")
    resp = await redeem(client, code)
    assert resp.status == 200
    assert (await resp.json())["scope"] == "openid email"
