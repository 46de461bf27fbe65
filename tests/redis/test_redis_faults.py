"""Fault injection over real processes (issue 14, "Prove" 3): a redis-server frozen with
SIGSTOP, killed and restarted from its append-only file under load, and the provider down
during a refresh wave. Whatever breaks, albauth fails closed (503, or back to the provider
as ALB does when a refresh fails), never hangs, and carries on once the fault is gone."""
# ruff: noqa: F811  (the tests/alb fixtures are imported, then named as parameters)

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from albauth.clock import FakeClock
from albauth.devidp import DevIdP
from tests.alb.conftest import (  # noqa: F401  (fixtures)
    SECRET,
    Alb,
    StartAlb,
    Upstream,
    clock,
    idp,
    start_alb,
    tls_files,
    upstream,
)
from tests.redis.replicas import ACCESS_TTL, share_cookies
from tests.session.redis_fixtures import RedisServer

SOCKET_TIMEOUT = 0.3


async def fail_fast_replica(start_alb: StartAlb, srv: RedisServer, *,
                            auth: dict[str, Any] | None = None) -> Alb:
    """A replica whose Redis commands give up after SOCKET_TIMEOUT (default: 1 s)."""
    url = f"{srv.url}?socket_timeout={SOCKET_TIMEOUT}&socket_connect_timeout={SOCKET_TIMEOUT}"
    return await start_alb(auth=auth, albauth={
        "session": {"store": "redis", "redis_url": url, "secrets": [SECRET]}})


@pytest.fixture
def aof_server() -> Iterator[RedisServer]:
    """Every write in the append-only file before its reply (appendfsync always)."""
    srv = RedisServer(persist=True).start()
    yield srv
    srv.close()


async def test_a_frozen_redis_fails_closed_within_the_socket_timeout_and_recovers(
        start_alb: StartAlb, idp: DevIdP, upstream: Upstream, clock: FakeClock,
        redis_server: RedisServer) -> None:
    a = await fail_fast_replica(start_alb, redis_server)
    await a.browser.login()
    forwarded = len(upstream.seen)
    clock.advance(ACCESS_TTL + 1)  # each request would refresh: the lock too is in Redis
    redis_server.pause()
    try:
        started = time.monotonic()
        replies = await asyncio.gather(*(a.browser.get(f"https://app.test/p{i}") for i in range(20)))
        elapsed = time.monotonic() - started
    finally:
        redis_server.resume()
    assert [r.status for r in replies] == [503] * 20
    assert elapsed < 3 * SOCKET_TIMEOUT + 0.5
    assert len(upstream.seen) == forwarded  # nothing reached the target meanwhile
    # Commands queued in the frozen server run at SIGCONT; none leaves a wait behind.
    started = time.monotonic()
    after = await a.browser.get("https://app.test/thawed")
    assert after.status == 200
    assert time.monotonic() - started < 3.5  # at most a lapsed lease, not 22 s
    assert idp.count("token", "refresh_token") == 1


async def test_redis_killed_under_load_and_restarted_from_its_aof_keeps_every_session(
        start_alb: StartAlb, idp: DevIdP, upstream: Upstream, aof_server: RedisServer) -> None:
    a = await fail_fast_replica(start_alb, aof_server)
    b = await fail_fast_replica(start_alb, aof_server)
    await a.browser.login()
    share_cookies(a, b)
    seen: list[tuple[float, int]] = []
    stop = asyncio.Event()

    async def browse(alb: Alb, n: int) -> None:
        while not stop.is_set():
            reply = await alb.browser.get(f"https://app.test/load/{n}")
            seen.append((time.monotonic(), reply.status))
            await asyncio.sleep(0.01)

    load = [asyncio.create_task(browse(alb, n)) for n, alb in enumerate((a, b, a, b))]
    await asyncio.sleep(0.3)
    assert aof_server.proc is not None
    killed = time.monotonic()
    aof_server.proc.kill()  # SIGKILL: no shutdown, no final rewrite
    aof_server.proc.wait()
    aof_server.proc = None
    await asyncio.sleep(0.5)
    aof_server.start()  # same port, same directory: the AOF is replayed
    restarted = time.monotonic()
    await asyncio.sleep(0.7)
    stop.set()
    await asyncio.gather(*load)
    assert {status for _, status in seen} == {200, 503}
    late_503 = [t - restarted for t, status in seen if status == 503 and t > restarted + 0.3]
    early_503 = [killed - t for t, status in seen if status == 503 and t < killed]
    assert not late_503 and not early_503  # 503 only while Redis was down
    assert all(status == 200 for t, status in seen if t > restarted + 0.3)
    assert idp.count("token", "authorization_code") == 1  # nobody logged in again


@pytest.fixture
async def token_endpoint(aiohttp_server: Any, idp: DevIdP) -> TestServer:
    """The provider's token endpoint behind a loopback hop that a test can take down."""
    async def token(request: web.Request) -> web.Response:
        body = await request.read()
        headers = {k: v for k, v in request.headers.items()
                   if k.lower() in ("authorization", "content-type")}
        async with aiohttp.ClientSession() as http, http.post(
                f"{idp.settings.issuer}/token", data=body, headers=headers) as resp:
            return web.Response(status=resp.status, body=await resp.read(),
                                content_type="application/json")

    app = web.Application()
    app.router.add_post("/token", token)
    server: TestServer = await aiohttp_server(app)
    return server


async def test_the_provider_down_during_a_refresh_wave_sends_every_request_to_log_in_at_once(
        start_alb: StartAlb, idp: DevIdP, clock: FakeClock, redis_server: RedisServer,
        token_endpoint: TestServer) -> None:
    auth = {"TokenEndpoint": str(token_endpoint.make_url("/token"))}
    a = await fail_fast_replica(start_alb, redis_server, auth=auth)
    b = await fail_fast_replica(start_alb, redis_server, auth=auth)
    await a.browser.login()
    share_cookies(a, b)
    assert (await b.browser.get("https://app.test/warm-up")).status == 200
    await token_endpoint.close()  # connection refused from now on
    clock.advance(ACCESS_TTL + 1)
    started = time.monotonic()
    replies = await asyncio.gather(*(
        (a if i % 2 else b).browser.get(f"https://app.test/p{i}") for i in range(20)))
    assert time.monotonic() - started < 3  # no waiter hangs on the failed refresh
    assert [r.status for r in replies] == [302] * 20
    assert all(r.location.startswith(f"{idp.settings.issuer}/authorize?") for r in replies)


async def test_redis_down_logs_one_traceback_not_one_per_request(
        start_alb: StartAlb, upstream: Upstream, caplog: pytest.LogCaptureFixture) -> None:
    srv = RedisServer().start()
    a = await fail_fast_replica(start_alb, srv)
    await a.browser.login()
    srv.close()  # Redis is gone for good
    with caplog.at_level(logging.INFO, logger="albauth"):
        replies = [await a.browser.get(f"https://app.test/p{i}") for i in range(30)]
    assert [r.status for r in replies] == [503] * 30
    failures = [r for r in caplog.records if "session store failed" in r.getMessage()]
    assert len([r for r in failures if r.exc_info]) == 1  # the first, with its traceback
    assert len(failures) <= 2  # then a line per interval with a count, not one per request
