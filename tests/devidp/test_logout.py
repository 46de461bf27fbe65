"""RP-initiated logout: redirect only to a registered logout URL, else a signed-out page."""

from __future__ import annotations

from albauth.devidp import DevIdP

from .flows import CLIENT_ID, HttpClient, tokens_for


async def test_logout_redirects_to_a_registered_uri_by_client_id(idp: DevIdP, client: HttpClient) -> None:
    resp = await client.get("/logout", allow_redirects=False, params={
        "client_id": CLIENT_ID, "post_logout_redirect_uri": "http://localhost:8080/signed-out",
        "state": "bye"})
    assert resp.status == 302
    assert resp.headers["Location"] == "http://localhost:8080/signed-out?state=bye"
    assert idp.events[-1].endpoint == "logout" and idp.events[-1].status == 302


async def test_logout_accepts_cognitos_logout_uri(client: HttpClient) -> None:
    resp = await client.get("/logout", allow_redirects=False, params={
        "client_id": CLIENT_ID, "logout_uri": "https://app.example.com/"})
    assert (resp.status, resp.headers["Location"]) == (302, "https://app.example.com/")


async def test_logout_finds_the_client_from_id_token_hint(client: HttpClient) -> None:
    id_token = (await tokens_for(client))["id_token"]
    resp = await client.get("/logout", allow_redirects=False, params={
        "id_token_hint": id_token, "post_logout_redirect_uri": "http://127.0.0.1:3000/"})
    assert (resp.status, resp.headers["Location"]) == (302, "http://127.0.0.1:3000/")


async def test_unregistered_logout_uri_gets_the_signed_out_page(client: HttpClient) -> None:
    resp = await client.get("/logout", allow_redirects=False, params={
        "client_id": CLIENT_ID, "post_logout_redirect_uri": "http://evil.example/"})
    assert resp.status == 200 and "Location" not in resp.headers
    assert "You are signed out" in await resp.text()


async def test_logout_uri_without_a_client_is_not_followed(client: HttpClient) -> None:
    resp = await client.get("/logout", allow_redirects=False,
                            params={"post_logout_redirect_uri": "http://localhost:8080/"})
    assert resp.status == 200 and "Location" not in resp.headers


async def test_forged_id_token_hint_is_not_followed(client: HttpClient) -> None:
    resp = await client.get("/logout", allow_redirects=False, params={
        "id_token_hint": "a.b.c", "post_logout_redirect_uri": "http://localhost:8080/"})
    assert resp.status == 200 and "Location" not in resp.headers
    assert "Not redirected" in await resp.text()


async def test_plain_logout_shows_the_signed_out_page(client: HttpClient) -> None:
    resp = await client.get("/logout", allow_redirects=False)
    assert resp.status == 200
    assert "You are signed out" in await resp.text()
