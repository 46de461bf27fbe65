"""Discovery document and JWKS, which relying parties (albauth among them) read first."""

from __future__ import annotations

from authlib.oidc.discovery import OpenIDProviderMetadata

from albauth.devidp import DevIdP

from .conftest import StartIdp
from .flows import CLIENT_ID, REDIRECT_URI, HttpClient, basic


async def test_discovery_document_names_every_endpoint(idp: DevIdP, client: HttpClient) -> None:
    resp = await client.get("/.well-known/openid-configuration")
    assert resp.status == 200
    doc = await resp.json()
    issuer = idp.settings.issuer
    assert doc["issuer"] == issuer
    assert doc["authorization_endpoint"] == f"{issuer}/authorize"
    assert doc["token_endpoint"] == f"{issuer}/token"
    assert doc["userinfo_endpoint"] == f"{issuer}/userinfo"
    assert doc["jwks_uri"] == f"{issuer}/jwks"
    assert doc["end_session_endpoint"] == f"{issuer}/logout"
    assert doc["response_types_supported"] == ["code"]
    assert doc["grant_types_supported"] == ["authorization_code", "refresh_token"]
    assert doc["token_endpoint_auth_methods_supported"] == ["client_secret_basic", "client_secret_post"]
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert doc["id_token_signing_alg_values_supported"] == ["RS256"]
    assert doc["subject_types_supported"] == ["public"]
    assert "openid" in doc["scopes_supported"]
    assert {"sub", "email", "groups", "department"} <= set(doc["claims_supported"])


async def test_discovery_document_is_valid_openid_provider_metadata(client: HttpClient) -> None:
    doc = await (await client.get("/.well-known/openid-configuration")).json()
    OpenIDProviderMetadata(doc).validate()


async def test_jwks_publishes_rs256_keys_with_kid(client: HttpClient) -> None:
    keys = (await (await client.get("/jwks")).json())["keys"]
    assert len(keys) == 1
    assert keys[0]["kty"] == "RSA" and keys[0]["alg"] == "RS256" and keys[0]["kid"]
    assert "d" not in keys[0]  # public half only


async def test_rotate_key_keeps_the_old_key_published(idp: DevIdP, client: HttpClient) -> None:
    old = (await (await client.get("/jwks")).json())["keys"][0]["kid"]
    new = idp.rotate_key()
    kids = [k["kid"] for k in (await (await client.get("/jwks")).json())["keys"]]
    assert new != old and set(kids) == {old, new}


async def test_issuer_with_a_path_serves_everything_under_it(start_idp: StartIdp) -> None:
    idp, client = await start_idp(path="/tenant/idp")
    doc = await (await client.get("/tenant/idp/.well-known/openid-configuration")).json()
    assert doc["issuer"] == idp.settings.issuer and idp.settings.issuer.endswith("/tenant/idp")
    assert doc["token_endpoint"] == f"{idp.settings.issuer}/token"
    login = await client.get("/tenant/idp/authorize", params={
        "response_type": "code", "client_id": CLIENT_ID, "redirect_uri": REDIRECT_URI, "scope": "openid"})
    assert 'action="/tenant/idp/authorize"' in await login.text()
    code = idp.issue_code("alice", CLIENT_ID, REDIRECT_URI)
    resp = await client.post("/tenant/idp/token", headers=basic(), data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI})
    assert resp.status == 200
    assert (await client.get("/.well-known/openid-configuration")).status == 404
