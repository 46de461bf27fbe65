"""OidcClient's UserInfo call against a scriptable provider over loopback (OIDC Core 5.3,
spec 2.6, 6.2)."""

from __future__ import annotations

from typing import Any

import pytest

from albauth.auth.errors import InvalidUserinfoResponse, UserinfoEndpointFailed, UserinfoEndpointTimeout

from .conftest import FakeProvider, MakeClient
from .helpers import assert_alb


async def test_userinfo_sends_the_bearer_token_and_keeps_bytes_and_key_order(
        provider: FakeProvider, make_client: MakeClient) -> None:
    raw = b'{"sub": "user-1", "zoneinfo": "Europe/Paris", "email": "u@example.com", "a": [1]}'
    provider.script("userinfo").body = raw
    info = await make_client().userinfo("at-1")
    assert provider.last("userinfo").headers["Authorization"] == "Bearer at-1"
    assert info.raw == raw
    assert list(info.claims) == ["sub", "zoneinfo", "email", "a"]
    assert info.sub == "user-1"


@pytest.mark.parametrize("status", [401, 403, 500])
async def test_userinfo_error_status_is_500(provider: FakeProvider, make_client: MakeClient, status: int) -> None:
    provider.script("userinfo").status = status
    with pytest.raises(UserinfoEndpointFailed) as failed:
        await make_client().userinfo("at-1")
    assert_alb(failed.value, 500, "AuthUserinfoEpRequestFailed", "ELBAuthError")


async def test_slow_userinfo_is_500_timeout(provider: FakeProvider, make_client: MakeClient) -> None:
    client = make_client(timeout=0.2)
    await client.metadata()
    provider.script("userinfo").delay = 2.0
    with pytest.raises(UserinfoEndpointTimeout) as failed:
        await client.userinfo("at-1")
    assert_alb(failed.value, 500, "AuthUserinfoEpRequestTimeout", "ELBAuthError")


async def test_unreachable_userinfo_is_500_timeout(make_client: MakeClient, closed_port: int) -> None:
    client = make_client(userinfo_endpoint=f"http://127.0.0.1:{closed_port}/userinfo",
                         authorization_endpoint="http://127.0.0.1/a",
                         token_endpoint="http://127.0.0.1/t", jwks_uri="http://127.0.0.1/j")
    with pytest.raises(UserinfoEndpointTimeout):
        await client.userinfo("at-1")


@pytest.mark.parametrize("body", [b"not json", ["sub"], "user-1", {"email": "u@example.com"},
                                  {"sub": 42}])
async def test_userinfo_without_an_object_with_sub_is_401(
        provider: FakeProvider, make_client: MakeClient, body: Any) -> None:
    provider.script("userinfo").body = body
    with pytest.raises(InvalidUserinfoResponse) as failed:
        await make_client().userinfo("at-1")
    assert_alb(failed.value, 401, "AuthInvalidUserinfoResponse", "ELBAuthFailure")


async def test_userinfo_about_another_sub_is_401(provider: FakeProvider, make_client: MakeClient) -> None:
    # OIDC Core 5.3.2: the UserInfo sub must equal the ID token's, else its values are unused.
    provider.script("userinfo").body = {"sub": "user-2", "email": "other@example.com"}
    with pytest.raises(InvalidUserinfoResponse, match="sub does not match") as failed:
        await make_client().userinfo("at-1", sub="user-1")
    assert_alb(failed.value, 401, "AuthInvalidUserinfoResponse", "ELBAuthFailure")
    assert (await make_client().userinfo("at-1", sub="user-2")).sub == "user-2"
