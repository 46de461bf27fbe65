"""The UserInfo endpoint, as ALB calls it after every token exchange."""

from __future__ import annotations

from albauth.clock import FakeClock
from albauth.devidp import DevIdP

from .flows import HttpClient, tokens_for


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_userinfo_returns_the_users_claims_sub_first(idp: DevIdP, client: HttpClient) -> None:
    token = (await tokens_for(client, "alice"))["access_token"]
    resp = await client.get("/userinfo", headers=bearer(token))
    assert resp.status == 200
    body = await resp.json()
    alice = idp.settings.user("alice")
    assert alice is not None
    assert list(body) == ["sub", "name", "preferred_username", "email", "email_verified",
                          "groups", "department"]
    assert body["sub"] == alice.sub
    assert body["email"] == "alice@example.com" and body["preferred_username"] == "alice"
    assert body["groups"] == ["admins", "developers"]
    event = idp.events[-1]
    assert (event.endpoint, event.status, event.grant_type) == ("userinfo", 200, None)
    assert idp.count("userinfo") == 1


async def test_userinfo_by_post(client: HttpClient) -> None:
    token = (await tokens_for(client))["access_token"]
    assert (await client.post("/userinfo", headers=bearer(token))).status == 200


async def test_userinfo_claims_follow_the_scopes(client: HttpClient) -> None:
    token = (await tokens_for(client, "bob", scope="openid"))["access_token"]
    body = await (await client.get("/userinfo", headers=bearer(token))).json()
    assert list(body) == ["sub", "groups", "department"]


async def test_expired_access_token_is_401_invalid_token(client: HttpClient, clock: FakeClock) -> None:
    token = (await tokens_for(client))["access_token"]
    clock.advance(299)
    assert (await client.get("/userinfo", headers=bearer(token))).status == 200
    clock.advance(1)
    resp = await client.get("/userinfo", headers=bearer(token))
    assert resp.status == 401
    assert resp.headers["WWW-Authenticate"].startswith('Bearer error="invalid_token"')
    assert (await resp.json())["error"] == "invalid_token"


async def test_forged_or_garbage_token_is_401_invalid_token(client: HttpClient) -> None:
    token = (await tokens_for(client))["access_token"]
    header, payload, signature = token.split(".")
    forged = f"{header}.{payload}.{signature[:-4]}AAAA"
    for bad in (forged, "garbage"):
        resp = await client.get("/userinfo", headers=bearer(bad))
        assert resp.status == 401
        assert 'error="invalid_token"' in resp.headers["WWW-Authenticate"]


async def test_token_from_before_a_key_rotation_still_works(idp: DevIdP, client: HttpClient) -> None:
    token = (await tokens_for(client))["access_token"]
    idp.rotate_key()
    assert (await client.get("/userinfo", headers=bearer(token))).status == 200


async def test_missing_token_is_401(client: HttpClient) -> None:
    resp = await client.get("/userinfo")
    assert resp.status == 401
    assert "WWW-Authenticate" in resp.headers
