"""OidcClient against a scriptable provider over loopback: the ALB behaviour of spec
2.4-2.6, 4 and 6.2 (status codes, error_reason codes, metrics)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
from typing import Any
from urllib.parse import unquote_plus

import pytest

from albauth.auth.errors import (
    DiscoveryError,
    InvalidGrant,
    InvalidIdToken,
    InvalidTokenResponse,
    InvalidUserinfoResponse,
    TokenEndpointFailed,
    TokenEndpointTimeout,
    UserinfoEndpointFailed,
    UserinfoEndpointTimeout,
)
from albauth.auth.oidc_client import TokenSet
from albauth.clock import FakeClock
from albauth.error_pages import AlbError


def assert_alb(exc: AlbError, status: int, reason: str, metric: str) -> None:
    assert (exc.status, exc.error_reason, exc.metric) == (status, reason, metric)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned_jwt(header: dict[str, Any], claims: dict[str, Any]) -> str:
    return f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}."


# -- discovery ---------------------------------------------------------------------


async def test_discovery_fills_missing_endpoints_and_is_fetched_once(provider, make_client):
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


async def test_explicit_endpoints_win_over_discovery(provider, make_client):
    client = make_client(token_endpoint=provider.url("/alt/token"),
                         authorization_endpoint="https://login.example/authorize")
    meta = await client.metadata()
    assert meta.token_endpoint == provider.url("/alt/token")
    assert meta.authorization_endpoint == "https://login.example/authorize"
    assert meta.userinfo_endpoint == provider.url("/userinfo")  # discovered
    await client.exchange_code("code-1", "https://app.example/cb")
    assert (provider.count("alt-token"), provider.count("token")) == (1, 0)


async def test_fully_configured_client_never_fetches_discovery(provider, make_client):
    client = make_client(authorization_endpoint=provider.url("/authorize"),
                         token_endpoint=provider.url("/token"),
                         userinfo_endpoint=provider.url("/userinfo"),
                         jwks_uri=provider.url("/jwks"))
    await client.exchange_code("code-1", "https://app.example/cb")
    await client.validate_id_token(provider.id_token())
    assert provider.count("discovery") == 0


async def test_failed_discovery_is_500_and_not_cached(provider, make_client):
    client = make_client()
    provider.script("discovery").status = 503
    with pytest.raises(DiscoveryError) as failed:
        await client.metadata()
    assert_alb(failed.value, 500, "AuthUnhandledException", "ELBAuthError")
    provider.script("discovery").status = 200
    assert (await client.metadata()).token_endpoint == provider.url("/token")
    assert provider.count("discovery") == 2


async def test_discovery_document_for_another_issuer_is_refused(provider, make_client):
    provider.script("discovery").body = {"issuer": "https://evil.example",
                                         "token_endpoint": provider.url("/token")}
    with pytest.raises(DiscoveryError):
        await make_client().metadata()


async def test_discovery_document_missing_a_required_endpoint_is_refused(provider, make_client):
    provider.script("discovery").body = {"issuer": provider.issuer,
                                         "authorization_endpoint": provider.url("/authorize"),
                                         "token_endpoint": provider.url("/token")}
    with pytest.raises(DiscoveryError, match="userinfo_endpoint"):
        await make_client().metadata()


async def test_without_a_jwks_the_id_token_claims_are_still_checked(provider, make_client):
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


# -- token endpoint ----------------------------------------------------------------


async def test_code_exchange_posts_the_form_with_client_secret_post(provider, make_client):
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


async def test_client_secret_basic_urlencodes_id_and_secret_before_base64(provider, make_client):
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


async def test_refresh_posts_the_refresh_grant_and_needs_no_id_token(provider, make_client):
    provider.script("token").body = {"access_token": "at-2", "token_type": "Bearer",
                                     "expires_in": 60}
    tokens = await make_client().refresh("rt-1")
    form = provider.last("token").form
    assert (form["grant_type"], form["refresh_token"]) == ("refresh_token", "rt-1")
    assert "code" not in form and "redirect_uri" not in form
    assert (tokens.access_token, tokens.id_token) == ("at-2", None)
    assert tokens.refresh_token is None  # not rotated: the caller keeps the old one


@pytest.mark.parametrize("grant", ["code", "refresh"])
async def test_invalid_grant_is_401_auth_invalid_grant_error(provider, make_client, grant):
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
async def test_other_token_endpoint_failures_are_561(provider, make_client, status, body):
    provider.script("token").status = status
    provider.script("token").body = body
    with pytest.raises(TokenEndpointFailed) as failed:
        await make_client().exchange_code("code-1", "https://app.example/cb")
    assert_alb(failed.value, 561, "AuthTokenEpRequestFailed", "ELBAuthError")
    assert failed.value.http_status == status


async def test_unreachable_token_endpoint_is_500_timeout(make_client, closed_port):
    client = make_client(token_endpoint=f"http://127.0.0.1:{closed_port}/token",
                         authorization_endpoint="http://127.0.0.1/a",
                         userinfo_endpoint="http://127.0.0.1/u", jwks_uri="http://127.0.0.1/j")
    with pytest.raises(TokenEndpointTimeout) as failed:
        await client.exchange_code("code-1", "https://app.example/cb")
    assert_alb(failed.value, 500, "AuthTokenEpRequestTimeout", "ELBAuthError")


async def test_slow_token_endpoint_is_500_timeout(provider, make_client):
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
async def test_unusable_token_response_is_401_invalid_token_response(provider, make_client, body):
    provider.script("token").body = body
    with pytest.raises(InvalidTokenResponse) as failed:
        await make_client().exchange_code("code-1", "https://app.example/cb")
    assert_alb(failed.value, 401, "AuthInvalidTokenResponse", "ELBAuthFailure")


# -- UserInfo ----------------------------------------------------------------------


async def test_userinfo_sends_the_bearer_token_and_keeps_bytes_and_key_order(provider, make_client):
    raw = b'{"sub": "user-1", "zoneinfo": "Europe/Paris", "email": "u@example.com", "a": [1]}'
    provider.script("userinfo").body = raw
    info = await make_client().userinfo("at-1")
    assert provider.last("userinfo").headers["Authorization"] == "Bearer at-1"
    assert info.raw == raw
    assert list(info.claims) == ["sub", "zoneinfo", "email", "a"]
    assert info.sub == "user-1"


@pytest.mark.parametrize("status", [401, 403, 500])
async def test_userinfo_error_status_is_500(provider, make_client, status):
    provider.script("userinfo").status = status
    with pytest.raises(UserinfoEndpointFailed) as failed:
        await make_client().userinfo("at-1")
    assert_alb(failed.value, 500, "AuthUserinfoEpRequestFailed", "ELBAuthError")


async def test_slow_userinfo_is_500_timeout(provider, make_client):
    client = make_client(timeout=0.2)
    await client.metadata()
    provider.script("userinfo").delay = 2.0
    with pytest.raises(UserinfoEndpointTimeout) as failed:
        await client.userinfo("at-1")
    assert_alb(failed.value, 500, "AuthUserinfoEpRequestTimeout", "ELBAuthError")


async def test_unreachable_userinfo_is_500_timeout(make_client, closed_port):
    client = make_client(userinfo_endpoint=f"http://127.0.0.1:{closed_port}/userinfo",
                         authorization_endpoint="http://127.0.0.1/a",
                         token_endpoint="http://127.0.0.1/t", jwks_uri="http://127.0.0.1/j")
    with pytest.raises(UserinfoEndpointTimeout):
        await client.userinfo("at-1")


@pytest.mark.parametrize("body", [b"not json", ["sub"], "user-1", {"email": "u@example.com"},
                                  {"sub": 42}])
async def test_userinfo_without_an_object_with_sub_is_401(provider, make_client, body):
    provider.script("userinfo").body = body
    with pytest.raises(InvalidUserinfoResponse) as failed:
        await make_client().userinfo("at-1")
    assert_alb(failed.value, 401, "AuthInvalidUserinfoResponse", "ELBAuthFailure")


async def test_userinfo_about_another_sub_is_401(provider, make_client):
    # OIDC Core 5.3.2: the UserInfo sub must equal the ID token's, else its values are unused.
    provider.script("userinfo").body = {"sub": "user-2", "email": "other@example.com"}
    with pytest.raises(InvalidUserinfoResponse, match="sub does not match") as failed:
        await make_client().userinfo("at-1", sub="user-1")
    assert_alb(failed.value, 401, "AuthInvalidUserinfoResponse", "ELBAuthFailure")
    assert (await make_client().userinfo("at-1", sub="user-2")).sub == "user-2"


# -- ID token ----------------------------------------------------------------------


async def test_valid_id_token_returns_its_claims(provider, make_client):
    token = provider.id_token(nonce="n-1", email="u@example.com")
    claims = await make_client().validate_id_token(token, nonce="n-1")
    assert (claims["sub"], claims["email"]) == ("user-1", "u@example.com")


async def test_several_audiences_with_our_azp_are_accepted(provider, make_client):
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
async def test_id_token_with_bad_claims_is_401(provider, make_client, claims):
    with pytest.raises(InvalidIdToken) as failed:
        await make_client().validate_id_token(provider.id_token(**claims), nonce="n-0S6_WzA2Mj")
    assert_alb(failed.value, 401, "AuthInvalidIdToken", "ELBAuthFailure")


async def test_issuer_must_match_exactly(provider, make_client):
    # OIDC Core 3.1.3.7 step 2: no normalisation, not even of a trailing slash.
    with pytest.raises(InvalidIdToken, match="iss"):
        await make_client().validate_id_token(provider.id_token(iss=provider.issuer + "/"))


async def test_expired_id_token_is_401_after_the_60s_leeway(provider, make_client):
    token = provider.id_token(iat=999_700, exp=1_000_000)
    assert await make_client(clock=FakeClock(1_000_059)).validate_id_token(token)
    with pytest.raises(InvalidIdToken, match="expired"):
        await make_client(clock=FakeClock(1_000_061)).validate_id_token(token)


async def test_id_token_nonce_only_checked_when_expected(provider, make_client):
    token = provider.id_token(nonce="n-1")
    assert await make_client().validate_id_token(token)
    with pytest.raises(InvalidIdToken, match="nonce"):
        await make_client().validate_id_token(provider.id_token(nonce=None), nonce="n-1")


async def test_alg_none_is_refused(provider, make_client):
    token = unsigned_jwt({"alg": "none", "typ": "JWT"}, provider.claims())
    with pytest.raises(InvalidIdToken, match="algorithm"):
        await make_client().validate_id_token(token)


async def test_hs256_signed_with_the_public_key_is_refused(provider, make_client):
    # The classic key-confusion attack: the JWKS public key, as PEM, used as HMAC secret.
    key = provider.keys[0]
    signing_input = unsigned_jwt({"alg": "HS256", "kid": key.kid}, provider.claims())[:-1]
    mac = hmac.new(key.as_pem(private=False), signing_input.encode(), hashlib.sha256)
    with pytest.raises(InvalidIdToken, match="algorithm"):
        await make_client().validate_id_token(f"{signing_input}.{b64url(mac.digest())}")


async def test_bad_signature_is_refused(provider, make_client):
    impostor = provider.new_key(provider.keys[0].kid or "key-1")
    with pytest.raises(InvalidIdToken, match="signature"):
        await make_client().validate_id_token(provider.id_token(key=impostor))


async def test_tampered_claims_are_refused(provider, make_client):
    header, _, signature = provider.id_token().split(".")
    forged = b64url(json.dumps(provider.claims(sub="admin")).encode())
    with pytest.raises(InvalidIdToken):
        await make_client().validate_id_token(f"{header}.{forged}.{signature}")


@pytest.mark.parametrize("token", ["", "garbage", "a.b.c", "a.b.c.d.e"])
async def test_malformed_id_token_is_refused(make_client, token):
    with pytest.raises(InvalidIdToken):
        await make_client().validate_id_token(token)


async def test_jwks_is_fetched_once_and_cached(provider, make_client):
    client = make_client()
    for _ in range(3):
        await client.validate_id_token(provider.id_token())
    assert provider.count("jwks") == 1


async def test_unknown_kid_refetches_the_jwks_once_after_rotation(provider, make_client):
    client = make_client()
    await client.validate_id_token(provider.id_token())
    assert provider.count("jwks") == 1
    new_key = provider.rotate_key("key-2")
    claims = await client.validate_id_token(provider.id_token(key=new_key))
    assert claims["sub"] == "user-1"
    assert provider.count("jwks") == 2
    await client.validate_id_token(provider.id_token(key=new_key))
    assert provider.count("jwks") == 2


async def test_unknown_kid_still_unknown_after_one_refetch_is_refused(provider, make_client):
    client = make_client()
    await client.validate_id_token(provider.id_token())
    stranger = provider.new_key("never-published")
    with pytest.raises(InvalidIdToken, match="never-published"):
        await client.validate_id_token(provider.id_token(key=stranger))
    assert provider.count("jwks") == 2


async def test_unreachable_jwks_is_500(provider, make_client):
    provider.script("jwks").status = 500
    with pytest.raises(DiscoveryError) as failed:
        await make_client().validate_id_token(provider.id_token())
    assert_alb(failed.value, 500, "AuthUnhandledException", "ELBAuthError")


# -- access token expiry (spec 4) ----------------------------------------------------


def token_set(access_token: str, expires_in: int | None) -> TokenSet:
    return TokenSet(access_token=access_token, token_type="Bearer", expires_in=expires_in,
                    refresh_token=None, id_token=None, raw={})


def test_access_token_expiry_comes_from_expires_in():
    jwt_at = unsigned_jwt({"alg": "RS256"}, {"exp": 5_000})
    assert token_set(jwt_at, 300).access_token_expires_at(1_000.0) == 1_300.0


def test_access_token_expiry_falls_back_to_the_jwt_exp():
    jwt_at = unsigned_jwt({"alg": "RS256"}, {"exp": 5_000})
    assert token_set(jwt_at, None).access_token_expires_at(1_000.0) == 5_000.0


@pytest.mark.parametrize("access_token", ["opaque-token", "a.b.c",
                                          unsigned_jwt({"alg": "RS256"}, {"sub": "x"})])
def test_access_token_expiry_is_unknown_without_either(access_token):
    assert token_set(access_token, None).access_token_expires_at(1_000.0) is None


@pytest.mark.parametrize(("expires_in", "expected"), [(3600, 3600), ("3599", 3599),
                                                       (None, None), ("soon", None)])
async def test_expires_in_as_the_provider_sends_it(provider, make_client, expires_in, expected):
    provider.script("token").body = {"access_token": "at-1", "token_type": "Bearer",
                                     "expires_in": expires_in}
    assert (await make_client().refresh("rt-1")).expires_in == expected


# -- secrets stay out of logs ----------------------------------------------------------


async def test_failures_log_no_codes_tokens_or_secrets(provider, make_client, caplog):
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


def test_token_set_repr_hides_tokens():
    text = repr(TokenSet(access_token="at-secret", token_type="Bearer", expires_in=1,
                         refresh_token="rt-secret", id_token="id-secret",
                         raw={"access_token": "at-secret"}))
    assert "secret" not in text
