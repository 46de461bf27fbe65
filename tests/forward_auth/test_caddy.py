"""A browser logs in through Debian's Caddy (forward_auth … copy_headers) with albauth as its
authenticator, using deploy/forward-auth/Caddyfile."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from albauth.clock import FakeClock
from albauth.devidp import DevIdP
from tests.alb.conftest import Upstream, header

from .conftest import ACCESS_TOKEN_TTL, FaAlb, StartFa, forward_rule
from .controllers import caddy
from .flows import (
    IDENTITY,
    assert_auth_answer_is_not_for_the_browser,
    assert_login_through,
    assert_no_session_is_not_forwarded,
    login,
    raw_get,
)


async def _behind_caddy(start_fa: StartFa, upstream: Upstream, d: Path, **kw: object
                        ) -> AsyncIterator[tuple[FaAlb, str]]:
    alb = await start_fa(rules=[forward_rule(1, "/public/*")], **kw)
    async with caddy(d, albauth=f"127.0.0.1:{alb.port}", app=upstream.url[len("http://"):]) as url:
        yield alb, url


@pytest.fixture
async def behind_caddy(start_fa: StartFa, upstream: Upstream, tmp_path: Path) -> AsyncIterator[tuple[FaAlb, str]]:
    async for pair in _behind_caddy(start_fa, upstream, tmp_path / "caddy"):
        yield pair


async def test_login_through_caddy_and_the_upstream_gets_the_signed_headers(
        behind_caddy: tuple[FaAlb, str], upstream: Upstream, idp: DevIdP) -> None:
    alb, url = behind_caddy
    await assert_login_through(alb.browser(url), upstream, idp)


async def test_without_a_session_caddy_sends_the_browser_to_the_provider(
        behind_caddy: tuple[FaAlb, str], upstream: Upstream, idp: DevIdP) -> None:
    alb, url = behind_caddy
    await assert_no_session_is_not_forwarded(alb.browser(url), upstream, idp)


async def test_refresh_through_the_subrequest_with_a_server_side_session(
        start_fa: StartFa, upstream: Upstream, clock: FakeClock, tmp_path: Path) -> None:
    # Caddy drops the auth response's Set-Cookie on a 2xx (see the Caddyfile): the memory
    # store's ticket cookie survives a refresh, and the refreshed session is used after it.
    async for alb, url in _behind_caddy(start_fa, upstream, tmp_path / "caddy", session={"store": "memory"}):
        browser = alb.browser(url)
        await login(browser)
        await browser.get("http://app.test/private/one")
        token = header(upstream.last, "x-amzn-oidc-accesstoken")
        clock.advance(ACCESS_TOKEN_TTL + 1)
        page = await browser.get("http://app.test/private/two")
        assert page.status == 200, (page.status, page.body[:300])
        refreshed = header(upstream.last, "x-amzn-oidc-accesstoken")
        assert refreshed not in (None, token)
        await browser.get("http://app.test/private/three")
        assert header(upstream.last, "x-amzn-oidc-accesstoken") == refreshed  # refreshed once


async def test_open_path_reaches_the_upstream_without_identity_even_if_the_browser_sends_one(
        behind_caddy: tuple[FaAlb, str], upstream: Upstream) -> None:
    alb, url = behind_caddy
    reply = await alb.browser(url).get("http://app.test/public/x", headers={
        name: "forged" for name in (*IDENTITY, "x_amzn_oidc_identity")})
    assert reply.status == 200
    assert upstream.last["path"] == "/public/x"
    assert not [v for k, v in upstream.last["headers"] if "amzn" in k.lower() and v], upstream.last["headers"]


async def test_a_browser_cannot_describe_the_original_request_itself(
        behind_caddy: tuple[FaAlb, str], upstream: Upstream) -> None:
    alb, url = behind_caddy
    seen = len(upstream.seen)
    reply = await alb.browser(url).get("http://app.test/admin", headers={
        "X-Original-URL": "http://app.test/public/x", "X-Original-Method": "GET"})
    assert reply.status == 302 and "/authorize" in reply.location
    assert len(upstream.seen) == seen


async def test_dot_segments_cannot_reach_a_protected_path_through_caddy(
        behind_caddy: tuple[FaAlb, str], upstream: Upstream) -> None:
    _, url = behind_caddy
    port = int(url.rsplit(":", 1)[1])
    seen = len(upstream.seen)
    for target in ("/public/../admin", "/public/%2e%2e/admin", "/public/./../admin", "/public/..%2fadmin"):
        assert await raw_get(port, target) in (302, 400), target
    assert len(upstream.seen) == seen
    assert await raw_get(port, "/public/ok") == 200


async def test_the_browser_cannot_ask_albauth_through_caddy(
        behind_caddy: tuple[FaAlb, str], upstream: Upstream) -> None:
    alb, url = behind_caddy
    await assert_auth_answer_is_not_for_the_browser(alb.browser(url), upstream)
