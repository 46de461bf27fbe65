"""A refresh across replicas when things go wrong (issue 14, fixes 2-4) and its one save
(issue 8): real replicas, a real redis-server, the built-in provider. Faults are made in
Redis itself (a lock left by a replica that died, an ACL that refuses SET for a moment)."""
# ruff: noqa: F811  (the tests/alb fixtures are imported, then named as parameters)

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import replace

import pytest
import redis
import redis.asyncio as aioredis

from albauth.auth.oidc_client import OidcClient, TokenSet
from albauth.auth.refresh import RedisRefresh, RefreshOutcome
from albauth.clock import FakeClock
from albauth.devidp import DevIdP
from albauth.session.model import Session
from albauth.session.redis_store import RedisSessionStore
from tests.alb.browser import Reply
from tests.alb.conftest import (  # noqa: F401  (fixtures)
    StartAlb,
    Upstream,
    clock,
    header,
    idp,
    start_alb,
    tls_files,
    upstream,
)
from tests.redis.redis_watch import Monitor, lock_key, only_sid
from tests.redis.replicas import ACCESS_TTL, share_cookies, start_replica
from tests.session.helpers import make_session
from tests.session.redis_fixtures import RedisServer

AfterProvider = list[Callable[[], None]]


@pytest.fixture
def slow_provider(monkeypatch: pytest.MonkeyPatch) -> AfterProvider:
    """The provider takes 300 ms to refresh (so a burst overlaps it); then the hooks the
    test appended run, once the provider has answered and before albauth saves."""
    hooks: AfterProvider = []
    refresh = OidcClient.refresh

    async def slow(self: OidcClient, refresh_token: str) -> TokenSet:
        await asyncio.sleep(0.3)
        tokens = await refresh(self, refresh_token)
        while hooks:
            hooks.pop(0)()
        return tokens

    monkeypatch.setattr(OidcClient, "refresh", slow)
    return hooks


def refuse_set_for(srv: RedisServer, seconds: float) -> Callable[[], None]:
    """A hook: Redis refuses SET (an ACL change) for `seconds`, then takes it again."""
    def acl(rule: str) -> None:
        with redis.Redis(port=srv.port) as direct:
            direct.execute_command("ACL", "SETUSER", "default", rule)

    def hook() -> None:
        acl("-set")
        asyncio.get_running_loop().call_later(seconds, acl, "+set")

    return hook


# -- issue 8: a refresh persists once -------------------------------------------------------


async def test_a_refresh_wave_across_two_replicas_saves_the_session_once(
        start_alb: StartAlb, idp: DevIdP, upstream: Upstream, clock: FakeClock,
        redis_server: RedisServer, slow_provider: AfterProvider) -> None:
    a = await start_replica(start_alb, redis_server)
    b = await start_replica(start_alb, redis_server)
    await a.browser.login()
    share_cookies(a, b)
    sid = only_sid(redis_server)
    clock.advance(ACCESS_TTL + 1)
    async with Monitor(redis_server) as monitor:
        replies = await asyncio.gather(*(
            (a if i % 2 else b).browser.get(f"https://app.test/p{i}") for i in range(20)))
    assert [r.status for r in replies] == [200] * 20
    assert idp.count("token", "refresh_token") == 1
    assert len(monitor.commands("SET", f"session:{sid}")) == 1, monitor.commands("SET")
    # Requests on the replica that refreshed carry its one save's cookies; the other
    # replica's requests keep their ticket, which names the refreshed session.
    issued = [r for r in replies if any(c.startswith("AWSELBAuthSessionCookie-0=") for c in r.set_cookies)]
    assert 1 <= len(issued) <= 10
    tokens = {header(r, "x-amzn-oidc-accesstoken") for r in upstream.seen[-20:]}
    assert len(tokens) == 1


# -- fix 2: a lock orphaned by a replica that died ------------------------------------------


async def test_a_lock_left_by_a_dead_replica_costs_a_lease_then_the_session_refreshes(
        start_alb: StartAlb, idp: DevIdP, upstream: Upstream, clock: FakeClock, redis_server: RedisServer) -> None:
    a = await start_replica(start_alb, redis_server)
    await a.browser.login()
    old = header(upstream.last, "x-amzn-oidc-accesstoken")
    sid = only_sid(redis_server)
    clock.advance(ACCESS_TTL + 1)
    with redis.Redis(port=redis_server.port) as direct:  # a holder that never renews nor releases
        direct.set(lock_key(sid), "replica-that-died", px=2000)
    started = time.monotonic()
    reply = await a.browser.get("https://app.test/after-the-crash")
    elapsed = time.monotonic() - started
    assert reply.status == 200, reply.location
    assert elapsed < 4.5  # the lease (2 s) and a fallback poll (1 s), not 2 x idp_timeout + 2 s
    assert header(upstream.last, "x-amzn-oidc-accesstoken") != old
    assert idp.count("token", "refresh_token") == 1


async def test_the_holder_renews_a_short_lease_while_the_provider_is_slow(
        start_alb: StartAlb, idp: DevIdP, clock: FakeClock,
        redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch) -> None:
    refresh = OidcClient.refresh

    async def slow(self: OidcClient, refresh_token: str) -> TokenSet:
        await asyncio.sleep(3.0)
        return await refresh(self, refresh_token)

    monkeypatch.setattr(OidcClient, "refresh", slow)
    a = await start_replica(start_alb, redis_server)
    await a.browser.login()
    key = lock_key(only_sid(redis_server))
    clock.advance(ACCESS_TTL + 1)
    request = asyncio.create_task(a.browser.get("https://app.test/slow"))
    ttls = []
    with redis.Redis(port=redis_server.port) as direct:
        for _ in range(5):
            await asyncio.sleep(0.5)
            ttls.append(direct.pttl(key))
    assert (await request).status == 200
    assert all(0 < ttl <= 2000 for ttl in ttls), ttls  # a short lease, still held at 2.5 s


# -- fix 3: the provider answered, the save failed ------------------------------------------


async def test_a_save_refused_for_a_moment_is_retried_and_nobody_logs_in_again(
        start_alb: StartAlb, idp: DevIdP, upstream: Upstream, clock: FakeClock,
        redis_server: RedisServer, slow_provider: AfterProvider) -> None:
    a = await start_replica(start_alb, redis_server)
    b = await start_replica(start_alb, redis_server)
    await a.browser.login()
    share_cookies(a, b)
    clock.advance(ACCESS_TTL + 1)
    slow_provider.append(refuse_set_for(redis_server, 0.25))
    replies = await asyncio.gather(*(
        (a if i % 2 else b).browser.get(f"https://app.test/p{i}") for i in range(10)))
    assert [r.status for r in replies] == [200] * 10
    assert idp.count("token", "refresh_token") == 1
    for alb in (a, b):  # the refreshed session reached Redis: no second refresh
        assert (await alb.browser.get("https://app.test/after")).status == 200
    assert idp.count("token", "refresh_token") == 1


async def test_a_save_that_never_goes_through_still_serves_the_refreshed_tokens(
        start_alb: StartAlb, idp: DevIdP, upstream: Upstream, clock: FakeClock,
        redis_server: RedisServer, slow_provider: AfterProvider) -> None:
    a = await start_replica(start_alb, redis_server)
    await a.browser.login()
    old = header(upstream.last, "x-amzn-oidc-accesstoken")
    clock.advance(ACCESS_TTL + 1)
    slow_provider.append(refuse_set_for(redis_server, 3.0))
    replies = await asyncio.gather(*(a.browser.get(f"https://app.test/p{i}") for i in range(5)))
    assert [r.status for r in replies] == [200] * 5  # not 503: the tokens were issued
    tokens = {header(r, "x-amzn-oidc-accesstoken") for r in upstream.seen[-5:]}
    assert len(tokens) == 1 and old not in tokens
    assert idp.count("token", "refresh_token") == 1


# -- fix 4: waiters do not flood Redis ------------------------------------------------------


async def test_fifty_requests_waiting_on_another_replicas_refresh_send_redis_a_few_commands(
        start_alb: StartAlb, idp: DevIdP, clock: FakeClock, redis_server: RedisServer) -> None:
    b = await start_replica(start_alb, redis_server)
    await b.browser.login()
    sid = only_sid(redis_server)
    clock.advance(ACCESS_TTL + 1)
    direct = redis.Redis(port=redis_server.port)
    direct.set(lock_key(sid), "replica-a-refreshing", px=10_000)  # held, and alive, elsewhere
    requests: list[asyncio.Task[Reply]] = []
    try:
        async with Monitor(redis_server) as monitor:
            requests += [asyncio.create_task(b.browser.get(f"https://app.test/p{i}")) for i in range(50)]
            async with asyncio.timeout(10):  # the session loaded (from the cache: no GET)
                while not monitor.commands("SET", "refresh:"):
                    await asyncio.sleep(0.05)
            await asyncio.sleep(0.5)  # every request loaded its session and waits
            waiting_from = len(monitor.lines)
            await asyncio.sleep(2.0)
            # The session cache's heartbeat (a PING a second when quiet) is not a waiter's.
            while_waiting = [line for line in monitor.lines[waiting_from:] if '"PING"' not in line]
        assert len(while_waiting) <= 6, while_waiting  # a fallback poll a second, not 50 x 8
        direct.delete(lock_key(sid))  # replica A died; B takes over the refresh
        replies = await asyncio.wait_for(asyncio.gather(*requests), 5)
    finally:
        for request in requests:
            request.cancel()
        await asyncio.gather(*requests, return_exceptions=True)
        direct.close()
    assert [r.status for r in replies] == [200] * 50
    assert idp.count("token", "refresh_token") == 1


async def test_a_waiter_wakes_on_the_winners_notice_not_on_its_poll(
        start_alb: StartAlb, idp: DevIdP, clock: FakeClock,
        redis_server: RedisServer, slow_provider: AfterProvider) -> None:
    a = await start_replica(start_alb, redis_server)
    b = await start_replica(start_alb, redis_server)
    await a.browser.login()
    share_cookies(a, b)
    assert (await b.browser.get("https://app.test/warm-up")).status == 200
    clock.advance(ACCESS_TTL + 1)
    winner = asyncio.create_task(a.browser.get("https://app.test/winner"))
    await asyncio.sleep(0.1)
    started = time.monotonic()
    reply = await b.browser.get("https://app.test/waiter")
    assert reply.status == 200
    assert time.monotonic() - started < 0.9  # the provider's 0.3 s, not the 1 s poll
    assert (await winner).status == 200
    assert idp.count("token", "refresh_token") == 1


# -- fix 2: a waiter out of time looks at the store once more --------------------------------


async def test_a_waiter_out_of_time_takes_the_refreshed_session_it_finds_in_the_store(
        store: RedisSessionStore, raw: aioredis.Redis, prefix: str) -> None:
    """The holder saved but its notice and its release never came (Redis failed it): the
    store has the answer, so the waiter does not send the user back to the provider."""
    coordinator = RedisRefresh(store, wait=0.3, poll=0.1)
    session = make_session()
    refreshed = replace(session, access_token="refreshed-elsewhere")
    await raw.set(f"{prefix}refresh:{session.sid}", "holder-still-alive", px=10_000)

    async def must_not_refresh(s: Session) -> Session:
        raise AssertionError("the waiter refreshed by itself")

    async def reload() -> Session:
        return refreshed

    async def persist(s: Session) -> list[str]:
        raise AssertionError("a waiter saves nothing")

    try:
        outcome = await coordinator.run(session, must_not_refresh, reload, persist)
    finally:
        await coordinator.close()
    assert outcome == RefreshOutcome(refreshed, ())


# -- soak finding: a lost cancel of the lease renewal hung the request ---------------------


class _LosesTheRenewalsCancel:
    """The real store, but the first command sent by another task than the test's (the
    lease renewal) swallows the cancel it receives, as asyncio.wait_for inside redis-py does on
    Python 3.11 when the cancel meets the reply (CPython gh-86296)."""

    def __init__(self, store: RedisSessionStore) -> None:
        self.store = store
        self.key_prefix = store.key_prefix
        self.owner = asyncio.current_task()
        self.lost = 0

    def pubsub(self) -> tuple[object, Callable[[], object]]:
        return self.store.pubsub()

    async def execute(self, command: Callable[[aioredis.Redis], object]) -> object:
        if asyncio.current_task() is not self.owner and not self.lost:
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                self.lost += 1  # swallowed once: the caller never sees it
        return await self.store.execute(command)  # type: ignore[arg-type]


async def test_a_renewal_whose_cancel_is_lost_still_stops_and_the_request_completes(
        store: RedisSessionStore, raw: aioredis.Redis, prefix: str) -> None:
    """Soak (1,000 users, 30 s tokens): requests that had refreshed hung until the client
    gave up, in `gather(renewal)`, while the renewal renewed the lock forever."""
    flaky = _LosesTheRenewalsCancel(store)
    coordinator = RedisRefresh(flaky, wait=2.0, lease=0.3)  # type: ignore[arg-type]
    session = make_session()

    async def slow_refresh(s: Session) -> Session:
        await asyncio.sleep(0.3)  # the renewal (every 0.1 s) is inside a command by now
        return replace(s, access_token="refreshed")

    async def reload() -> Session:
        return session

    async def persist(s: Session) -> list[str]:
        return ["saved"]

    try:
        async with asyncio.timeout(5):
            outcome = await coordinator.run(session, slow_refresh, reload, persist)
    finally:
        await coordinator.close()
    assert flaky.lost == 1
    assert outcome.session.access_token == "refreshed"
    assert await raw.get(f"{prefix}refresh:{session.sid}") is None  # released, not renewed for good
