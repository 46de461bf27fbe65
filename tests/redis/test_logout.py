"""albauth's opt-in logout routes with sessions in Redis: a logout on one replica ends the
session on all of them, and a provider's back-channel logout token revokes a user's
sessions everywhere, while a forged, expired or misaddressed token revokes nothing."""
# ruff: noqa: F811  (the tests/alb fixtures are imported, then named as parameters)

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

from albauth.auth.idtoken import peek
from albauth.clock import FakeClock
from albauth.devidp import DevIdP
from tests.alb.browser import Browser, Reply
from tests.alb.conftest import (  # noqa: F401  (fixtures)
    CLIENT_ID,
    SECRET,
    Alb,
    StartAlb,
    Upstream,
    clock,
    header,
    idp,
    start_alb,
    tls_files,
    upstream,
)
from tests.redis.replicas import share_cookies, start_replica
from tests.session.redis_fixtures import RedisServer

LANDING = "https://app.test/signed-out"
# What a browser sends when the user clicks the app's own sign-out link.
SAME_ORIGIN = {"Sec-Fetch-Site": "same-origin"}
LOGOUT = {"albauth": {"logout_path": "/oauth2/logout", "post_logout_redirect_uri": LANDING,
                      "backchannel_logout_path": "/oauth2/backchannel-logout"}}


async def replicas(start_alb: StartAlb, srv: RedisServer) -> tuple[Alb, Alb]:
    return (await start_replica(start_alb, srv, auth=LOGOUT),
            await start_replica(start_alb, srv, auth=LOGOUT))


async def test_logout_on_one_replica_ends_the_session_on_the_other(
        start_alb: StartAlb, idp: DevIdP, upstream: Upstream, redis_server: RedisServer) -> None:
    a, b = await replicas(start_alb, redis_server)
    await a.browser.login()
    share_cookies(a, b)  # the copy an attacker (or another tab) kept from before the logout
    reply = await a.browser.get("https://app.test/oauth2/logout", headers=SAME_ORIGIN)
    assert reply.status == 302
    end_session = urlsplit(reply.location)
    assert f"{end_session.scheme}://{end_session.netloc}{end_session.path}" == f"{idp.settings.issuer}/logout"
    assert parse_qs(end_session.query) == {"client_id": [CLIENT_ID],
                                           "post_logout_redirect_uri": [LANDING]}
    assert any(c.startswith("AWSELBAuthSessionCookie-0=;") or "Max-Age=0" in c
               for c in reply.set_cookies if c.startswith("AWSELBAuthSessionCookie-0"))
    assert "AWSELBAuthSessionCookie-0" not in a.browser.cookies()
    seen = len(upstream.seen)
    refused = await b.browser.get("https://app.test/with-the-old-cookie")
    assert refused.status == 302
    assert refused.location.startswith(f"{idp.settings.issuer}/authorize?")
    assert len(upstream.seen) == seen
    # The provider ends its own session and sends the browser to the landing page.
    back = await a.browser.get(reply.location)
    assert back.status == 302 and back.location == LANDING


async def test_logout_path_is_off_by_default_and_goes_to_the_target(start_alb: StartAlb, upstream: Upstream,
                                                                    redis_server: RedisServer) -> None:
    alb = await start_replica(start_alb, redis_server)
    await alb.browser.login()
    reply = await alb.browser.get("https://app.test/oauth2/logout")
    assert reply.status == 200
    assert upstream.last["path"] == "/oauth2/logout"


async def login_as(alb: Alb, username: str) -> Browser:
    browser = Browser(alb.browser.session, alb.browser.albauth_origin)
    await browser.login(username=username)
    return browser


async def post_logout_token(alb: Alb, token: str) -> Reply:
    return await alb.browser.request("POST", "https://app.test/oauth2/backchannel-logout",
                                     data={"logout_token": token}, cookies=False)


async def status_of(browser: Browser) -> int:
    return (await browser.get("https://app.test/check")).status


async def test_backchannel_logout_revokes_the_users_sessions_on_every_replica(
        start_alb: StartAlb, idp: DevIdP, redis_server: RedisServer) -> None:
    a, b = await replicas(start_alb, redis_server)
    alice_a, alice_b, bob_b = await login_as(a, "alice"), await login_as(b, "alice"), await login_as(b, "bob")
    sub = header((await alice_a.get("https://app.test/")).json(), "x-amzn-oidc-identity")
    reply = await post_logout_token(a, idp.backchannel_logout_token(CLIENT_ID, sub=sub))
    assert reply.status == 200, reply.body
    assert reply.headers["Cache-Control"] == "no-store"
    assert [await status_of(x) for x in (alice_a, alice_b, bob_b)] == [302, 302, 200]


def forged(idp: DevIdP, **claims: Any) -> str:
    """The provider's kid and claims, signed with a key that is not the provider's."""
    header, body = peek(idp.backchannel_logout_token(CLIENT_ID, **claims))
    return jwt.encode(header, body, RSAKey.generate_key(2048))


@pytest.mark.parametrize("bad", ["forged", "expired", "wrong_aud", "wrong_iss", "no_event",
                                 "with_nonce", "no_sub_or_sid", "garbage"])
async def test_a_bad_logout_token_is_400_and_revokes_nothing(start_alb: StartAlb, idp: DevIdP, clock: FakeClock,
                                                             redis_server: RedisServer, bad: str) -> None:
    a, b = await replicas(start_alb, redis_server)
    alice = await login_as(a, "alice")
    sub = header((await alice.get("https://app.test/")).json(), "x-amzn-oidc-identity")
    tokens: dict[str, Callable[[], str]] = {
        "forged": lambda: forged(idp, sub=sub),
        "expired": lambda: idp.backchannel_logout_token(CLIENT_ID, sub=sub, iat=int(clock()) - 900,
                                                        exp=int(clock()) - 600),
        "wrong_aud": lambda: idp.backchannel_logout_token("someone-else", sub=sub),
        "wrong_iss": lambda: idp.backchannel_logout_token(CLIENT_ID, sub=sub, iss="https://evil.test"),
        "no_event": lambda: idp.backchannel_logout_token(CLIENT_ID, sub=sub, events={}),
        "with_nonce": lambda: idp.backchannel_logout_token(CLIENT_ID, sub=sub, nonce="n"),
        "no_sub_or_sid": lambda: idp.backchannel_logout_token(CLIENT_ID),
        "garbage": lambda: "not.a.jwt",
    }
    token = tokens[bad]()
    reply = await post_logout_token(b, token)
    assert reply.status == 400
    assert reply.json()["error"] == "invalid_request"
    assert await status_of(alice) == 200


async def test_backchannel_logout_with_the_cookie_store_is_501(start_alb: StartAlb, idp: DevIdP) -> None:
    alb = await start_alb(auth=LOGOUT)
    reply = await post_logout_token(alb, idp.backchannel_logout_token(CLIENT_ID, sub="alice"))
    assert reply.status == 501
    assert "cookie" in reply.json()["error_description"]


async def test_backchannel_logout_with_the_memory_store_revokes_in_process(start_alb: StartAlb, idp: DevIdP) -> None:
    alb = await start_alb(auth=LOGOUT, albauth={"session": {"store": "memory", "secrets": [SECRET]}})
    alice, bob = await login_as(alb, "alice"), await login_as(alb, "bob")
    sub = header((await alice.get("https://app.test/")).json(), "x-amzn-oidc-identity")
    assert (await post_logout_token(alb, idp.backchannel_logout_token(CLIENT_ID, sub=sub))).status == 200
    assert [await status_of(x) for x in (alice, bob)] == [302, 200]


async def test_logout_with_the_cookie_store_expires_the_cookies(start_alb: StartAlb, idp: DevIdP) -> None:
    alb = await start_alb(auth=LOGOUT)
    await alb.browser.login()
    kept = dict(alb.browser.cookies())
    reply = await alb.browser.get("https://app.test/oauth2/logout", headers=SAME_ORIGIN)
    assert reply.status == 302
    assert "AWSELBAuthSessionCookie-0" not in alb.browser.cookies()
    # Client-side only, as documented: the copy still works (like ALB's own cookies).
    alb.browser.jar["app.test"] = kept
    assert (await alb.browser.get("https://app.test/")).status == 200


@pytest.mark.parametrize("headers", [
    {"Sec-Fetch-Site": "cross-site"},
    {"Sec-Fetch-Site": "same-site"},
    {"Referer": "https://evil.example/page"},
    {},  # no word from the browser at all
], ids=["fetch-cross-site", "fetch-same-site", "foreign-referer", "no-metadata"])
async def test_a_cross_site_get_does_not_log_out_but_asks(start_alb: StartAlb, redis_server: RedisServer,
                                                          headers: dict[str, str]) -> None:
    alb = await start_replica(start_alb, redis_server, auth=LOGOUT)
    await alb.browser.login()
    reply = await alb.browser.get("https://app.test/oauth2/logout", headers=headers)
    assert reply.status == 200
    assert reply.headers["X-Frame-Options"] == "DENY"
    assert b'<form method="post" action="/oauth2/logout">' in reply.body
    assert not reply.set_cookies
    assert (await alb.browser.get("https://app.test/still-signed-in")).status == 200
    # The page's button: a same-origin POST, which does log out.
    done = await alb.browser.request("POST", "https://app.test/oauth2/logout",
                                     headers={"Origin": "https://app.test"})
    assert done.status == 302
    assert (await alb.browser.get("https://app.test/")).status == 302


async def test_a_cross_site_post_does_not_log_out(start_alb: StartAlb, redis_server: RedisServer) -> None:
    alb = await start_replica(start_alb, redis_server, auth=LOGOUT)
    await alb.browser.login()
    for headers in ({"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
        reply = await alb.browser.request("POST", "https://app.test/oauth2/logout", headers=headers)
        assert reply.status == 403
    assert (await alb.browser.get("https://app.test/")).status == 200


async def test_a_same_origin_get_by_referer_logs_out(start_alb: StartAlb, redis_server: RedisServer) -> None:
    alb = await start_replica(start_alb, redis_server, auth=LOGOUT)
    await alb.browser.login()
    reply = await alb.browser.get("https://app.test/oauth2/logout", headers={"Referer": "https://app.test/home"})
    assert reply.status == 302
