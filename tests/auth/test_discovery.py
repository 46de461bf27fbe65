"""OidcClient's discovery against a scriptable provider over loopback: what is
fetched, when, and what a failure costs (spec 6.2)."""

from __future__ import annotations

import pytest

from albauth.auth.errors import DiscoveryError, InvalidIdToken
from albauth.clock import FakeClock

from .conftest import FakeProvider, MakeClient
from .helpers import assert_alb, unsigned_jwt


async def test_discovery_fills_missing_endpoints_and_is_fetched_once(
        provider: FakeProvider, make_client: MakeClient) -> None:
    client = make_client()
    first = await client.metadata()
    second = await client.metadata()
    await client.exchange_code("code-1", "https://app.example/oauth2/idpresponse")
    assert first is second
    assert provider.count("discovery") == 1
    assert first.issuer == provider.issuer
    assert first.authorization_endpoint == provider.url("/authorize")
    assert first.token_endpoint == provider.url("/token")
    assert first.userinfo_endpoint == provider.url("/userinfo")
    assert first.jwks_uri == provider.url("/jwks")
    assert first.end_session_endpoint == provider.url("/logout")


async def test_explicit_endpoints_win_over_discovery(provider: FakeProvider, make_client: MakeClient) -> None:
    client = make_client(token_endpoint=provider.url("/alt/token"),
                         authorization_endpoint="https://login.example/authorize")
    meta = await client.metadata()
    assert meta.token_endpoint == provider.url("/alt/token")
    assert meta.authorization_endpoint == "https://login.example/authorize"
    assert meta.userinfo_endpoint == provider.url("/userinfo")  # discovered
    await client.exchange_code("code-1", "https://app.example/cb")
    assert (provider.count("alt-token"), provider.count("token")) == (1, 0)


async def test_fully_configured_client_never_fetches_discovery(provider: FakeProvider, make_client: MakeClient) -> None:
    client = make_client(authorization_endpoint=provider.url("/authorize"),
                         token_endpoint=provider.url("/token"),
                         userinfo_endpoint=provider.url("/userinfo"),
                         jwks_uri=provider.url("/jwks"))
    await client.exchange_code("code-1", "https://app.example/cb")
    await client.validate_id_token(provider.id_token())
    assert provider.count("discovery") == 0


async def test_failed_discovery_is_500_and_not_cached(provider: FakeProvider, make_client: MakeClient) -> None:
    client = make_client()
    provider.script("discovery").status = 503
    with pytest.raises(DiscoveryError) as failed:
        await client.metadata()
    assert_alb(failed.value, 500, "AuthUnhandledException", "ELBAuthError")
    provider.script("discovery").status = 200
    assert (await client.metadata()).token_endpoint == provider.url("/token")
    assert provider.count("discovery") == 2


async def test_discovery_document_for_another_issuer_is_refused(
        provider: FakeProvider, make_client: MakeClient) -> None:
    provider.script("discovery").body = {"issuer": "https://evil.example",
                                         "token_endpoint": provider.url("/token")}
    with pytest.raises(DiscoveryError):
        await make_client().metadata()


async def test_discovery_document_missing_a_required_endpoint_is_refused(
        provider: FakeProvider, make_client: MakeClient) -> None:
    provider.script("discovery").body = {"issuer": provider.issuer,
                                         "authorization_endpoint": provider.url("/authorize"),
                                         "token_endpoint": provider.url("/token")}
    with pytest.raises(DiscoveryError, match="userinfo_endpoint"):
        await make_client().metadata()


async def test_without_a_jwks_the_id_token_claims_are_still_checked(
        provider: FakeProvider, make_client: MakeClient) -> None:
    # ALB's own situation: three endpoints configured, no JWKS, trust in TLS.
    provider.script("discovery").status = 404
    clock = FakeClock()
    client = make_client(authorization_endpoint=provider.url("/authorize"),
                         token_endpoint=provider.url("/token"),
                         userinfo_endpoint=provider.url("/userinfo"), clock=clock)
    stranger = provider.new_key("not-published")
    claims = await client.validate_id_token(provider.id_token(key=stranger))
    assert claims["sub"] == "user-1"
    with pytest.raises(InvalidIdToken):
        await client.validate_id_token(provider.id_token(key=stranger, iss="https://evil"))
    with pytest.raises(InvalidIdToken):
        await client.validate_id_token(unsigned_jwt({"alg": "none"}, provider.claims()))
    # A failed optional discovery is retried later, not on every login.
    assert provider.count("discovery") == 1
    clock.advance(301)
    await client.metadata()
    assert provider.count("discovery") == 2
