"""A browser logs in through Debian's nginx (auth_request, the ingress-nginx shape) with
albauth as its authenticator, using deploy/forward-auth/nginx.conf."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from albauth.clock import FakeClock
from albauth.devidp import DevIdP
from tests.alb.conftest import Upstream, header

from .conftest import ACCESS_TOKEN_TTL, FaAlb, StartFa, forward_rule
from .controllers import nginx
from .flows import (
    assert_auth_answer_is_not_for_the_browser,
    assert_login_through,
    assert_no_session_is_not_forwarded,
    assert_refresh_through,
    raw_get,
)


@pytest.fixture
async def behind_nginx(start_fa: StartFa, upstream: Upstream, tmp_path: Path) -> AsyncIterator[tuple[FaAlb, str]]:
    alb = await start_fa(rules=[forward_rule(1, "/public/*")])
    async with nginx(tmp_path / "nginx", albauth=f"127.0.0.1:{alb.port}", app=upstream.url[len("http://"):]) as url:
        yield alb, url


async def test_login_through_nginx_and_the_upstream_gets_the_signed_headers(
        behind_nginx: tuple[FaAlb, str], upstream: Upstream, idp: DevIdP) -> None:
    alb, url = behind_nginx
    await assert_login_through(alb.browser(url), upstream, idp)


async def test_without_a_session_nginx_sends_the_browser_to_the_provider(
        behind_nginx: tuple[FaAlb, str], upstream: Upstream, idp: DevIdP) -> None:
    alb, url = behind_nginx
    await assert_no_session_is_not_forwarded(alb.browser(url), upstream, idp)


async def test_refresh_through_the_subrequest(behind_nginx: tuple[FaAlb, str], upstream: Upstream,
                                              clock: FakeClock) -> None:
    alb, url = behind_nginx
    await assert_refresh_through(alb.browser(url), upstream, clock, ACCESS_TOKEN_TTL)


async def test_open_path_reaches_the_upstream_without_identity_even_if_the_browser_sends_one(
        behind_nginx: tuple[FaAlb, str], upstream: Upstream) -> None:
    alb, url = behind_nginx
    reply = await alb.browser(url).get("http://app.test/public/x", headers={
        "x-amzn-oidc-data": "forged", "x-amzn-oidc-identity": "forged", "x_amzn_oidc_identity": "forged"})
    assert reply.status == 200
    assert upstream.last["path"] == "/public/x"
    assert not [k for k, _ in upstream.last["headers"] if "amzn" in k.lower()], upstream.last["headers"]
    assert header(upstream.last, "x-forwarded-proto") == "http"


async def test_dot_segments_cannot_reach_a_protected_path_through_nginx(
        behind_nginx: tuple[FaAlb, str], upstream: Upstream) -> None:
    # nginx routes on its normalized $uri but reports $request_uri as sent: albauth must
    # normalize the reported one the same way, or /public/../admin passes as /public/*.
    _, url = behind_nginx
    port = int(url.rsplit(":", 1)[1])
    seen = len(upstream.seen)
    for target in ("/public/../admin", "/public/%2e%2e/admin", "/public/./../admin", "/public/..%2fadmin"):
        assert await raw_get(port, target) in (302, 500), target
    assert len(upstream.seen) == seen
    assert await raw_get(port, "/public/ok") == 200


async def test_the_browser_cannot_ask_albauth_through_nginx(
        behind_nginx: tuple[FaAlb, str], upstream: Upstream) -> None:
    alb, url = behind_nginx
    await assert_auth_answer_is_not_for_the_browser(alb.browser(url), upstream)
