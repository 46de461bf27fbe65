"""Spec 12, "Refresh" (items 42-44) and single-flight refresh (spec 4)."""

from __future__ import annotations

import asyncio

from albauth.clock import FakeClock
from albauth.devidp import DevIdP

from .conftest import NO_REFRESH_CLIENT, Alb, StartAlb, Upstream, header, oidc_action

ACCESS_TTL = 300  # the built-in provider's default access-token lifetime


async def test_expired_access_token_is_refreshed_once_with_new_cookies(alb: Alb, idp: DevIdP, upstream: Upstream,
                                                                       clock: FakeClock) -> None:
    """Item 42."""
    await alb.browser.login()
    old_token = header(upstream.last, "x-amzn-oidc-accesstoken")
    userinfo_before = idp.count("userinfo")
    clock.advance(ACCESS_TTL + 1)
    reply = await alb.browser.get("https://app.test/later")
    assert reply.status == 200
    assert idp.count("token", "refresh_token") == 1
    assert idp.count("userinfo") == userinfo_before + 1
    assert [c for c in reply.set_cookies if c.startswith("AWSELBAuthSessionCookie-0=")]
    assert alb.metrics.value("ELBAuthRefreshTokenSuccess") == 1
    new_token = header(upstream.last, "x-amzn-oidc-accesstoken")
    assert new_token != old_token
    # The re-issued cookie carries the new token: no second refresh.
    assert (await alb.browser.get("https://app.test/again")).status == 200
    assert idp.count("token", "refresh_token") == 1
    assert header(upstream.last, "x-amzn-oidc-accesstoken") == new_token


async def test_refresh_does_not_extend_the_session(start_alb: StartAlb, idp: DevIdP, clock: FakeClock) -> None:
    """Spec 3.1: SessionTimeout counts from login, refreshes or not."""
    alb = await start_alb(auth={"SessionTimeout": ACCESS_TTL + 100})
    await alb.browser.login()
    clock.advance(ACCESS_TTL + 1)
    assert (await alb.browser.get("https://app.test/")).status == 200
    clock.advance(100)
    assert (await alb.browser.get("https://app.test/")).status == 302


async def test_failed_refresh_redirects_to_the_provider_even_under_deny(start_alb: StartAlb, idp: DevIdP,
                                                                        clock: FakeClock) -> None:
    """Item 43."""
    forward = {"Type": "forward", "Order": 2, "TargetGroupArn": "app"}
    alb = await start_alb(rules=[
        {"Priority": 1, "Conditions": [{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/api/*"]}}],
         "Actions": [oidc_action(idp, OnUnauthenticatedRequest="deny"), forward]}])
    await alb.browser.login()
    idp.revoke_refresh_tokens()
    clock.advance(ACCESS_TTL + 1)
    reply = await alb.browser.get("https://app.test/api/data")
    assert reply.status == 302
    assert reply.location.startswith(f"{idp.settings.issuer}/authorize?")
    assert alb.metrics.value("ELBAuthRefreshTokenSuccess") == 0


async def test_without_refresh_token_the_stale_access_token_is_forwarded(start_alb: StartAlb, idp: DevIdP,
                                                                         upstream: Upstream, clock: FakeClock) -> None:
    """Item 44: until SessionTimeout, as ALB does."""
    alb = await start_alb(auth={"ClientId": NO_REFRESH_CLIENT, "SessionTimeout": 3600})
    await alb.browser.login()
    token = header(upstream.last, "x-amzn-oidc-accesstoken")
    clock.advance(ACCESS_TTL + 60)
    reply = await alb.browser.get("https://app.test/stale")
    assert reply.status == 200
    assert header(upstream.last, "x-amzn-oidc-accesstoken") == token
    assert idp.count("token", "refresh_token") == 0
    clock.advance(3600)
    assert (await alb.browser.get("https://app.test/stale")).status == 302


async def test_concurrent_requests_on_an_expired_token_cause_one_refresh(alb: Alb, idp: DevIdP,
                                                                         clock: FakeClock) -> None:
    """Spec 4: single flight per session."""
    await alb.browser.login()
    clock.advance(ACCESS_TTL + 1)
    replies = await asyncio.gather(*(alb.browser.get(f"https://app.test/p{i}") for i in range(20)))
    assert [r.status for r in replies] == [200] * 20
    assert idp.count("token", "refresh_token") == 1


async def test_refresh_token_is_kept_when_the_provider_does_not_rotate_it(alb: Alb, idp: DevIdP,
                                                                          clock: FakeClock) -> None:
    await alb.browser.login()
    clock.advance(ACCESS_TTL + 1)
    assert (await alb.browser.get("https://app.test/")).status == 200
    clock.advance(ACCESS_TTL + 1)
    assert (await alb.browser.get("https://app.test/")).status == 200
    assert idp.count("token", "refresh_token") == 2
