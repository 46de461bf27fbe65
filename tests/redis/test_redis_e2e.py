"""albauth over real HTTP with its sessions in a private Redis: one login serves every
replica, and a Redis outage fails closed (503, nothing forwarded) and heals by itself."""
# ruff: noqa: F811  (the tests/alb fixtures are imported, then named as parameters)

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import redis

from albauth.error_pages import alb_error_body
from tests.alb.conftest import (  # noqa: F401  (fixtures)
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
from tests.session.redis_fixtures import RedisServer

IDENTITY = ("x-amzn-oidc-identity", "x-amzn-oidc-accesstoken", "x-amzn-oidc-data")


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    # Persistent, so a session outlives the outage and the same cookie works after it.
    srv = RedisServer(persist=True).start()
    yield srv
    srv.close()


def redis_settings(srv: RedisServer) -> dict[str, Any]:
    return {"session": {"store": "redis", "redis_url": srv.url, "secrets": [SECRET]}}


async def start_replica(start_alb: StartAlb, srv: RedisServer) -> Alb:
    return await start_alb(albauth=redis_settings(srv))


def assert_forwarded_with_identity(record: dict[str, Any]) -> None:
    for name in IDENTITY:
        assert header(record, name), name


async def test_login_with_redis_sessions_forwards_with_identity_headers(
        start_alb: StartAlb, upstream: Upstream, redis_server: RedisServer) -> None:
    a = await start_replica(start_alb, redis_server)
    page = await a.browser.login("https://app.test/hello")
    assert page.status == 200, page.body
    assert upstream.last["path"] == "/hello"
    assert_forwarded_with_identity(upstream.last)
    # The browser holds a ticket only; the session itself is in Redis.
    cookies = a.browser.cookies("app.test")
    assert [n for n in cookies if n.startswith("AWSELBAuthSessionCookie")] == [
        "AWSELBAuthSessionCookie-0"]
    assert len(cookies["AWSELBAuthSessionCookie-0"]) < 200
    with redis.Redis(port=redis_server.port) as direct:
        assert len(direct.keys("albauth:session:*")) == 1


async def test_a_login_on_one_replica_is_valid_on_another(start_alb: StartAlb, upstream: Upstream,
                                                          redis_server: RedisServer) -> None:
    a = await start_replica(start_alb, redis_server)
    b = await start_replica(start_alb, redis_server)
    assert a.port != b.port
    await a.browser.login("https://app.test/")
    identity = header(upstream.last, "x-amzn-oidc-identity")
    b.browser.jar["app.test"] = dict(a.browser.cookies("app.test"))
    seen = len(upstream.seen)
    reply = await b.browser.get("https://app.test/on-b")
    assert reply.status == 200, reply.body
    assert len(upstream.seen) == seen + 1
    assert upstream.last["path"] == "/on-b"
    assert_forwarded_with_identity(upstream.last)
    assert header(upstream.last, "x-amzn-oidc-identity") == identity
    assert not reply.set_cookies  # B did not have to log the user in again


async def test_redis_down_is_503_and_nothing_reaches_the_target_then_heals(
        start_alb: StartAlb, upstream: Upstream, redis_server: RedisServer) -> None:
    a = await start_replica(start_alb, redis_server)
    await a.browser.login("https://app.test/")
    identity = header(upstream.last, "x-amzn-oidc-identity")
    seen = len(upstream.seen)
    redis_server.stop()
    reply = await a.browser.get("https://app.test/while-down")
    assert reply.status == 503
    assert reply.body == alb_error_body(503)
    assert reply.headers["Server"] == "awselb/2.0"
    assert len(upstream.seen) == seen
    redis_server.start()  # same port; the same runtime, store and cookie carry on
    reply = await a.browser.get("https://app.test/after")
    assert reply.status == 200, reply.body
    assert upstream.last["path"] == "/after"
    assert header(upstream.last, "x-amzn-oidc-identity") == identity


async def test_the_callback_while_redis_is_down_is_503_and_sets_no_cookie(
        start_alb: StartAlb, upstream: Upstream, redis_server: RedisServer) -> None:
    a = await start_replica(start_alb, redis_server)
    first = await a.browser.get("https://app.test/")
    assert first.status == 302  # no cookie yet: login needs no Redis (the state is sealed)
    callback = await a.browser.sign_in(first.location)
    redis_server.stop()
    reply = await a.browser.get(callback)
    assert reply.status == 503
    assert reply.body == alb_error_body(503)
    assert not [c for c in reply.set_cookies if c.startswith("AWSELBAuthSessionCookie")]
    assert upstream.seen == []
