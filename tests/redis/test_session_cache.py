"""The Redis store's in-process session cache (albauth.session.redis_cache), over real HTTP
between replicas sharing one real redis-server: no GET on the hot path, revocation still
immediate everywhere, and a GET per request whenever the invalidation connection is gone."""
# ruff: noqa: F811  (the tests/alb fixtures are imported, then named as parameters)

from __future__ import annotations

import asyncio
import time

import redis

from albauth.clock import FakeClock
from albauth.devidp import DevIdP
from albauth.session.redis_cache import CacheEntry, SessionCache
from albauth.session.redis_store import RedisSessionStore
from albauth.session.sealing import Sealer
from albauth.session.ticket import Ticket, open_ticket, seal_ticket
from tests.alb.conftest import (  # noqa: F401  (fixtures)
    Alb,
    StartAlb,
    Upstream,
    clock,
    idp,
    oidc_action,
    start_alb,
    tls_files,
    upstream,
)
from tests.redis.redis_watch import Monitor, only_sid
from tests.redis.replicas import redis_settings, share_cookies, start_replica
from tests.session.helpers import BINDING, NAME, SECRET, make_session
from tests.session.redis_fixtures import RedisServer


def store_of(alb: Alb) -> RedisSessionStore:
    auth = alb.runtime.generation.auth
    assert auth is not None
    store = auth.backend.built.redis
    assert isinstance(store, RedisSessionStore)
    return store


def cache_of(alb: Alb) -> SessionCache:
    pool = store_of(alb)._pool
    assert pool is not None and pool.cache is not None
    return pool.cache


async def live(alb: Alb) -> SessionCache:
    cache = cache_of(alb)
    assert await cache.wait_subscribed(5), "the invalidation connection never subscribed"
    return cache


async def warm(alb: Alb) -> None:
    """A request (which opens the store's pool and its invalidation connection), then two
    once it is subscribed: the first GETs and fills, the second is served from the cache."""
    assert (await alb.browser.get("https://app.test/warm-0")).status == 200
    await live(alb)
    for path in ("/warm-1", "/warm-2"):
        assert (await alb.browser.get(f"https://app.test{path}")).status == 200


async def test_an_open_session_costs_redis_nothing_per_request(
        start_alb: StartAlb, upstream: Upstream, redis_server: RedisServer) -> None:
    a = await start_replica(start_alb, redis_server)
    await a.browser.login()
    await warm(a)
    async with Monitor(redis_server) as monitor:
        for i in range(20):
            assert (await a.browser.get(f"https://app.test/hot/{i}")).status == 200
        await asyncio.sleep(0.1)
    assert not monitor.commands("GET", "session:"), monitor.lines


async def test_a_revoke_on_replica_a_is_refused_on_replica_b_at_the_next_request(
        start_alb: StartAlb, upstream: Upstream, redis_server: RedisServer) -> None:
    a = await start_replica(start_alb, redis_server)
    b = await start_replica(start_alb, redis_server)
    await a.browser.login()
    share_cookies(a, b)
    await warm(b)  # B holds the session in its cache
    sid = only_sid(redis_server)
    key = store_of(b).keys.session(sid)
    assert cache_of(b).get(key) is not None
    assert await store_of(a).revoke(sid=sid) == 1
    started = time.monotonic()
    while cache_of(b).get(key) is not None:  # a push from Redis: milliseconds, not a poll
        assert time.monotonic() - started < 1.0, "B never heard of the revoke"
        await asyncio.sleep(0.002)
    reply = await b.browser.get("https://app.test/after-revoke")
    assert reply.status == 302  # back to the provider: the session is gone


async def test_killing_the_invalidation_connection_falls_back_to_a_get_per_request_then_recovers(
        start_alb: StartAlb, upstream: Upstream, redis_server: RedisServer) -> None:
    a = await start_replica(start_alb, redis_server)
    await a.browser.login()
    await warm(a)
    cache = cache_of(a)
    direct = redis.Redis(port=redis_server.port)
    try:
        killed = kill_tracking_clients(direct)
        assert killed == 1
        started = time.monotonic()
        while cache.live:
            assert time.monotonic() - started < 1.0
            await asyncio.sleep(0.002)
        # While it is down, Redis alone vouches: a revoke is seen at once, through the GET.
        async with Monitor(redis_server) as monitor:
            assert (await a.browser.get("https://app.test/fallback")).status == 200
            await asyncio.sleep(0.05)
        assert monitor.commands("GET", "session:")
        assert await cache.wait_subscribed(5)  # re-subscribed by itself
        await warm(a)
        async with Monitor(redis_server) as monitor:
            assert (await a.browser.get("https://app.test/recovered")).status == 200
            await asyncio.sleep(0.05)
        assert not monitor.commands("GET", "session:")
    finally:
        direct.close()


def kill_tracking_clients(direct: redis.Redis) -> int:
    killed = 0
    for client in direct.client_list():
        if "t" in client["flags"]:  # CLIENT LIST: t = tracking on
            direct.client_kill_filter(_id=client["id"])
            killed += 1
    return killed


async def test_a_get_that_raced_with_an_invalidation_is_not_cached(
        shared: RedisServer, sealer: Sealer, clock: FakeClock, prefix: str) -> None:
    store = RedisSessionStore.from_url(shared.url, sealer=sealer, clock=clock, key_prefix=prefix)
    try:
        await store.execute(lambda client: client.ping())  # makes the pool and its cache
        pool = store._pool
        assert pool is not None and pool.cache is not None
        cache = pool.cache
        cache.start()  # as the first load does
        assert await cache.wait_subscribed(5)
        key = store.keys.session("raced")
        fill = cache.begin(key)  # a GET goes out...
        assert fill is not None
        direct = redis.Redis(port=shared.port)
        direct.set(key, b"written meanwhile")  # ...another replica writes the key...
        direct.close()
        started = time.monotonic()
        while not cache.invalidated_in_flight(key):  # ...its invalidation arrives first
            assert time.monotonic() - started < 1.0
            await asyncio.sleep(0.002)
        cache.put(fill, CacheEntry(b"s", make_session(), time.monotonic() + 60))  # the GET's stale answer
        assert cache.get(key) is None
    finally:
        await store.close()


# --- Redis keeps live sessions only -----------------------------------------------------------


async def test_an_ended_session_without_its_record_still_reads_as_ended_even_under_deny(
        start_alb: StartAlb, idp: DevIdP, upstream: Upstream, clock: FakeClock, redis_server: RedisServer) -> None:
    """Redis drops the session when it ends (TTL = the time left); the ticket in the cookie
    says when that was, so a deny rule still answers 302 (spec 1.3), not 401."""
    forward = {"Type": "forward", "Order": 2, "TargetGroupArn": "app"}
    a = await start_alb(albauth=redis_settings(redis_server), auth={"SessionTimeout": 1}, rules=[
        {"Priority": 1, "Conditions": [{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/api/*"]}}],
         "Actions": [oidc_action(idp, OnUnauthenticatedRequest="deny", SessionTimeout=1), forward]}])
    await a.browser.login()
    direct = redis.Redis(port=redis_server.port)
    try:
        assert direct.keys("albauth:session:*")
        time.sleep(1.2)  # Redis's clock: the entry's TTL was the second left
        clock.advance(2)  # albauth's clock: the session has ended
        assert direct.keys("albauth:*") == []  # nothing with tokens, no index left behind
        reply = await a.browser.get("https://app.test/api/data")
        assert reply.status == 302, reply.status
        assert reply.location.startswith(f"{idp.settings.issuer}/authorize?")
    finally:
        direct.close()


async def test_a_session_revoked_before_its_end_is_refused_under_deny(
        start_alb: StartAlb, idp: DevIdP, upstream: Upstream, redis_server: RedisServer) -> None:
    """The ticket's end does not resurrect a revoked session: before the end, no record = 401."""
    forward = {"Type": "forward", "Order": 2, "TargetGroupArn": "app"}
    a = await start_alb(albauth=redis_settings(redis_server), rules=[
        {"Priority": 1, "Conditions": [{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/api/*"]}}],
         "Actions": [oidc_action(idp, OnUnauthenticatedRequest="deny"), forward]}])
    await a.browser.login()
    assert await store_of(a).revoke(sid=only_sid(redis_server)) == 1
    assert (await a.browser.get("https://app.test/api/data")).status == 401


def test_tickets_carry_the_end_and_tickets_from_before_still_open() -> None:
    sealer = Sealer((SECRET,), "albauth session")
    new = Ticket.new("sid-1")
    for ticket in (Ticket("sid-1", new.secret, 1_900_000_000.25), Ticket("sid-1", new.secret)):
        cookies = {f"{NAME}-0": seal_ticket(sealer, ticket, NAME, BINDING)}
        assert open_ticket(sealer, cookies, NAME, BINDING) == ticket
