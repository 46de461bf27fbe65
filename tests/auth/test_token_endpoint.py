"""OidcClient's code exchange and refresh against a scriptable provider over loopback:
client authentication, ALB's status and error_reason for each failure (spec 2.4, 4, 6.2),
the access token's expiry, and no secret in logs."""

from __future__ import annotations

import base64
import logging
import time
from typing import Any
from urllib.parse import unquote_plus

import pytest

from albauth.auth.errors import (
    InvalidGrant,
    InvalidTokenResponse,
    TokenEndpointFailed,
    TokenEndpointTimeout,
    UserinfoEndpointFailed,
)
from albauth.auth.oidc_client import TokenSet

from .conftest import FakeProvider, MakeClient
from .helpers import assert_alb, unsigned_jwt


async def test_code_exchange_posts_the_form_with_client_secret_post(
        provider: FakeProvider, make_client: MakeClient) -> None:
    client = make_client()
    tokens = await client.exchange_code("code-1", "https://app.example/oauth2/idpresponse",
                                        code_verifier="verifier-1")
    seen = provider.last("token")
    assert seen.form == {
        "grant_type": "authorization_code", "code": "code-1",
        "redirect_uri": "https://app.example/oauth2/idpresponse",
        "code_verifier": "verifier-1",
        "client_id": provider.client_id, "client_secret": provider.client_secret,
    }
    assert seen.headers["Accept"] == "application/json"
    assert seen.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert "Authorization" not in seen.headers
    assert (tokens.access_token, tokens.token_type, tokens.expires_in) == ("at-1", "Bearer", 3600)
    assert tokens.refresh_token == "rt-1"
    assert tokens.id_token and tokens.raw["access_token"] == "at-1"


async def test_client_secret_basic_urlencodes_id_and_secret_before_base64(
        provider: FakeProvider, make_client: MakeClient) -> None:
    client = make_client(client_auth="basic")
    await client.exchange_code("code-1", "https://app.example/cb")
    seen = provider.last("token")
    assert "client_secret" not in seen.form and "client_id" not in seen.form
    scheme, _, encoded = seen.headers["Authorization"].partition(" ")
    assert scheme == "Basic"
    decoded = base64.b64decode(encoded).decode("ascii")
    # RFC 6749 §2.3.1: the ':' inside the secret is escaped, so the split is unambiguous.
    user, password = decoded.split(":")
    assert password == "s3cr%3At%2520%26%3D%2B%2F%C3%A9"
    assert (unquote_plus(user), unquote_plus(password)) == (provider.client_id,
                                                            provider.client_secret)


async def test_refresh_posts_the_refresh_grant_and_needs_no_id_token(
        provider: FakeProvider, make_client: MakeClient) -> None:
    provider.script("token").body = {"access_token": "at-2", "token_type": "Bearer",
                                     "expires_in": 60}
    tokens = await make_client().refresh("rt-1")
    form = provider.last("token").form
    assert (form["grant_type"], form["refresh_token"]) == ("refresh_token", "rt-1")
    assert "code" not in form and "redirect_uri" not in form
    assert (tokens.access_token, tokens.id_token) == ("at-2", None)
    assert tokens.refresh_token is None  # not rotated: the caller keeps the old one


@pytest.mark.parametrize("grant", ["code", "refresh"])
async def test_invalid_grant_is_401_auth_invalid_grant_error(
        provider: FakeProvider, make_client: MakeClient, grant: str) -> None:
    # What a replayed authorization code gets (spec 6.2).
    provider.script("token").status = 400
    provider.script("token").body = {"error": "invalid_grant",
                                     "error_description": "code already used"}
    client = make_client()
    with pytest.raises(InvalidGrant) as failed:
        if grant == "code":
            await client.exchange_code("code-1", "https://app.example/cb")
        else:
            await client.refresh("rt-1")
    assert_alb(failed.value, 401, "AuthInvalidGrantError", "ELBAuthFailure")


@pytest.mark.parametrize(("status", "body"), [
    (500, b"<html>oops</html>"),
    (400, {"error": "invalid_client"}),
    (401, {"error": "invalid_client"}),
    (302, b""),
])
async def test_other_token_endpoint_failures_are_561(
        provider: FakeProvider, make_client: MakeClient, status: int, body: Any) -> None:
    provider.script("token").status = status
    provider.script("token").body = body
    with pytest.raises(TokenEndpointFailed) as failed:
        await make_client().exchange_code("code-1", "https://app.example/cb")
    assert_alb(failed.value, 561, "AuthTokenEpRequestFailed", "ELBAuthError")
    assert failed.value.http_status == status


async def test_unreachable_token_endpoint_is_500_timeout(make_client: MakeClient, closed_port: int) -> None:
    client = make_client(token_endpoint=f"http://127.0.0.1:{closed_port}/token",
                         authorization_endpoint="http://127.0.0.1/a",
                         userinfo_endpoint="http://127.0.0.1/u", jwks_uri="http://127.0.0.1/j")
    with pytest.raises(TokenEndpointTimeout) as failed:
        await client.exchange_code("code-1", "https://app.example/cb")
    assert_alb(failed.value, 500, "AuthTokenEpRequestTimeout", "ELBAuthError")


async def test_slow_token_endpoint_is_500_timeout(provider: FakeProvider, make_client: MakeClient) -> None:
    client = make_client(timeout=0.2)
    await client.metadata()
    provider.script("token").delay = 2.0
    started = time.monotonic()
    with pytest.raises(TokenEndpointTimeout) as failed:
        await client.refresh("rt-1")
    assert time.monotonic() - started < 1.0
    assert_alb(failed.value, 500, "AuthTokenEpRequestTimeout", "ELBAuthError")


@pytest.mark.parametrize("body", [
    b"access_token=at-1&token_type=bearer",
    [1, 2],
    {"token_type": "Bearer", "id_token": "x.y.z"},
    {"access_token": "at-1", "token_type": "Bearer"},  # no id_token: scope lacked openid
])
async def test_unusable_token_response_is_401_invalid_token_response(
        provider: FakeProvider, make_client: MakeClient, body: Any) -> None:
    provider.script("token").body = body
    with pytest.raises(InvalidTokenResponse) as failed:
        await make_client().exchange_code("code-1", "https://app.example/cb")
    assert_alb(failed.value, 401, "AuthInvalidTokenResponse", "ELBAuthFailure")


# -- access token expiry (spec 4) ----------------------------------------------------


def token_set(access_token: str, expires_in: int | None) -> TokenSet:
    return TokenSet(access_token=access_token, token_type="Bearer", expires_in=expires_in,
                    refresh_token=None, id_token=None, raw={})


def test_access_token_expiry_comes_from_expires_in() -> None:
    jwt_at = unsigned_jwt({"alg": "RS256"}, {"exp": 5_000})
    assert token_set(jwt_at, 300).access_token_expires_at(1_000.0) == 1_300.0


def test_access_token_expiry_falls_back_to_the_jwt_exp() -> None:
    jwt_at = unsigned_jwt({"alg": "RS256"}, {"exp": 5_000})
    assert token_set(jwt_at, None).access_token_expires_at(1_000.0) == 5_000.0


@pytest.mark.parametrize("access_token", ["opaque-token", "a.b.c",
                                          unsigned_jwt({"alg": "RS256"}, {"sub": "x"})])
def test_access_token_expiry_is_unknown_without_either(access_token: str) -> None:
    assert token_set(access_token, None).access_token_expires_at(1_000.0) is None


@pytest.mark.parametrize(("expires_in", "expected"), [(3600, 3600), ("3599", 3599),
                                                       (None, None), ("soon", None)])
async def test_expires_in_as_the_provider_sends_it(
        provider: FakeProvider, make_client: MakeClient, expires_in: Any, expected: int) -> None:
    provider.script("token").body = {"access_token": "at-1", "token_type": "Bearer",
                                     "expires_in": expires_in}
    assert (await make_client().refresh("rt-1")).expires_in == expected


# -- secrets stay out of logs ----------------------------------------------------------


async def test_failures_log_no_codes_tokens_or_secrets(
        provider: FakeProvider, make_client: MakeClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    client = make_client(client_auth="basic")
    provider.script("token").status = 400
    provider.script("token").body = {"error": "invalid_grant"}
    with pytest.raises(InvalidGrant) as grant_failure:
        await client.exchange_code("the-code-xyz", "https://app.example/cb")
    provider.script("userinfo").status = 401
    with pytest.raises(UserinfoEndpointFailed) as userinfo_failure:
        await client.userinfo("the-access-token-xyz")
    logged = caplog.text + str(grant_failure.value) + str(userinfo_failure.value)
    assert "invalid_grant" in logged
    for secret in ("the-code-xyz", "the-access-token-xyz", "s3cr", provider.client_secret):
        assert secret not in logged


def test_token_set_repr_hides_tokens() -> None:
    text = repr(TokenSet(access_token="at-secret", token_type="Bearer", expires_in=1,
                         refresh_token="rt-secret", id_token="id-secret",
                         raw={"access_token": "at-secret"}))
    assert "secret" not in text


async def test_a_providers_error_cannot_forge_log_lines(
        provider: FakeProvider, make_client: MakeClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    provider.script("token").status = 400
    provider.script("token").body = {"error": "invalid_client\r\nCRITICAL albauth: forged"}
    with pytest.raises(TokenEndpointFailed):
        await make_client().exchange_code("code-1", "https://app.example/cb")
    messages = [r.getMessage() for r in caplog.records]
    assert any("invalid_client\\x0d\\x0aCRITICAL albauth: forged" in m for m in messages)
    assert not any("\n" in m or "\r" in m for m in messages)
