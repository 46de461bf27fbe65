"""OidcClient's ID token validation against a scriptable provider over loopback: the
claims of OIDC Core 3.1.3.7, the algorithm allow-list, the signature and the JWKS cache
(refetched once on an unknown kid). ALB answers 401 AuthInvalidIdToken (spec 2.5)."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest

from albauth.auth.errors import DiscoveryError, InvalidIdToken
from albauth.clock import FakeClock

from .conftest import FakeProvider, MakeClient
from .helpers import assert_alb, b64url, unsigned_jwt


async def test_valid_id_token_returns_its_claims(provider: FakeProvider, make_client: MakeClient) -> None:
    token = provider.id_token(nonce="n-1", email="u@example.com")
    claims = await make_client().validate_id_token(token, nonce="n-1")
    assert (claims["sub"], claims["email"]) == ("user-1", "u@example.com")


async def test_several_audiences_with_our_azp_are_accepted(provider: FakeProvider, make_client: MakeClient) -> None:
    token = provider.id_token(aud=["other", provider.client_id], azp=provider.client_id)
    assert (await make_client().validate_id_token(token))["azp"] == provider.client_id


@pytest.mark.parametrize("claims", [
    {"iss": "https://evil.example"},
    {"aud": "someone-else"},
    {"aud": ["someone-else", "another"]},
    {"aud": ["albauth-client", "another"]},  # several audiences, no azp
    {"aud": ["albauth-client", "another"], "azp": "another"},
    {"exp": None},
    {"exp": "tomorrow"},
    {"nonce": "replayed"},
])
async def test_id_token_with_bad_claims_is_401(
        provider: FakeProvider, make_client: MakeClient, claims: dict[str, Any]) -> None:
    with pytest.raises(InvalidIdToken) as failed:
        await make_client().validate_id_token(provider.id_token(**claims), nonce="n-0S6_WzA2Mj")
    assert_alb(failed.value, 401, "AuthInvalidIdToken", "ELBAuthFailure")


async def test_issuer_must_match_exactly(provider: FakeProvider, make_client: MakeClient) -> None:
    # OIDC Core 3.1.3.7 step 2: no normalisation, not even of a trailing slash.
    with pytest.raises(InvalidIdToken, match="iss"):
        await make_client().validate_id_token(provider.id_token(iss=provider.issuer + "/"))


async def test_expired_id_token_is_401_after_the_60s_leeway(provider: FakeProvider, make_client: MakeClient) -> None:
    token = provider.id_token(iat=999_700, exp=1_000_000)
    assert await make_client(clock=FakeClock(1_000_059)).validate_id_token(token)
    with pytest.raises(InvalidIdToken, match="expired"):
        await make_client(clock=FakeClock(1_000_061)).validate_id_token(token)


async def test_id_token_nonce_only_checked_when_expected(provider: FakeProvider, make_client: MakeClient) -> None:
    token = provider.id_token(nonce="n-1")
    assert await make_client().validate_id_token(token)
    with pytest.raises(InvalidIdToken, match="nonce"):
        await make_client().validate_id_token(provider.id_token(nonce=None), nonce="n-1")


async def test_alg_none_is_refused(provider: FakeProvider, make_client: MakeClient) -> None:
    token = unsigned_jwt({"alg": "none", "typ": "JWT"}, provider.claims())
    with pytest.raises(InvalidIdToken, match="algorithm"):
        await make_client().validate_id_token(token)


async def test_hs256_signed_with_the_public_key_is_refused(provider: FakeProvider, make_client: MakeClient) -> None:
    # The classic key-confusion attack: the JWKS public key, as PEM, used as HMAC secret.
    key = provider.keys[0]
    signing_input = unsigned_jwt({"alg": "HS256", "kid": key.kid}, provider.claims())[:-1]
    mac = hmac.new(key.as_pem(private=False), signing_input.encode(), hashlib.sha256)
    with pytest.raises(InvalidIdToken, match="algorithm"):
        await make_client().validate_id_token(f"{signing_input}.{b64url(mac.digest())}")


async def test_bad_signature_is_refused(provider: FakeProvider, make_client: MakeClient) -> None:
    impostor = provider.new_key(provider.keys[0].kid or "key-1")
    with pytest.raises(InvalidIdToken, match="signature"):
        await make_client().validate_id_token(provider.id_token(key=impostor))


async def test_tampered_claims_are_refused(provider: FakeProvider, make_client: MakeClient) -> None:
    header, _, signature = provider.id_token().split(".")
    forged = b64url(json.dumps(provider.claims(sub="admin")).encode())
    with pytest.raises(InvalidIdToken):
        await make_client().validate_id_token(f"{header}.{forged}.{signature}")


@pytest.mark.parametrize("token", ["", "garbage", "a.b.c", "a.b.c.d.e"])
async def test_malformed_id_token_is_refused(make_client: MakeClient, token: str) -> None:
    with pytest.raises(InvalidIdToken):
        await make_client().validate_id_token(token)


async def test_jwks_is_fetched_once_and_cached(provider: FakeProvider, make_client: MakeClient) -> None:
    client = make_client()
    for _ in range(3):
        await client.validate_id_token(provider.id_token())
    assert provider.count("jwks") == 1


async def test_unknown_kid_refetches_the_jwks_once_after_rotation(
        provider: FakeProvider, make_client: MakeClient) -> None:
    client = make_client()
    await client.validate_id_token(provider.id_token())
    assert provider.count("jwks") == 1
    new_key = provider.rotate_key("key-2")
    claims = await client.validate_id_token(provider.id_token(key=new_key))
    assert claims["sub"] == "user-1"
    assert provider.count("jwks") == 2
    await client.validate_id_token(provider.id_token(key=new_key))
    assert provider.count("jwks") == 2


async def test_unknown_kid_still_unknown_after_one_refetch_is_refused(
        provider: FakeProvider, make_client: MakeClient) -> None:
    client = make_client()
    await client.validate_id_token(provider.id_token())
    stranger = provider.new_key("never-published")
    with pytest.raises(InvalidIdToken, match="never-published"):
        await client.validate_id_token(provider.id_token(key=stranger))
    assert provider.count("jwks") == 2


async def test_unreachable_jwks_is_500(provider: FakeProvider, make_client: MakeClient) -> None:
    provider.script("jwks").status = 500
    with pytest.raises(DiscoveryError) as failed:
        await make_client().validate_id_token(provider.id_token())
    assert_alb(failed.value, 500, "AuthUnhandledException", "ELBAuthError")
