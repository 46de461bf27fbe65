"""What the Redis store keeps where, beyond the shared store contract
(tests/session/conformance.py runs against it too)."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from albauth.clock import FakeClock
from albauth.session import CookiePolicy, Sealer, Session, SessionInvalid
from albauth.session.redis_store import (
    DEFAULT_EXPIRED_GRACE,
    RedisSessionStore,
    SessionStoreUnavailable,
)
from albauth.session.redis_value import digest
from tests.session.helpers import BINDING, NAME, SECRET, apply, make_session
from tests.session.redis_fixtures import RedisServer, unique_prefix

POLICY = CookiePolicy()
WEEK = 604800


async def saved(store: RedisSessionStore, session: Session, clock: FakeClock, jar: dict[str, str] | None = None,
                policy: CookiePolicy = POLICY) -> dict[str, str]:
    return apply(jar or {}, await store.save(session, NAME, jar or {}, policy, clock()))


async def everything_in(raw: aioredis.Redis, prefix: str) -> dict[bytes, list[bytes]]:
    """Every key under `prefix` with every byte Redis would put in a dump of it."""
    out: dict[bytes, list[bytes]] = {}
    async for key in raw.scan_iter(match=f"{prefix}*"):
        kind = _bytes(await raw.type(key)).decode()
        values = [_bytes(await raw.dump(key))]
        if kind == "hash":
            values += [_bytes(b) for kv in (await raw.hgetall(key)).items() for b in kv]
        elif kind == "set":
            values += [_bytes(member) for member in await raw.smembers(key)]
        out[key] = values
    return out


def _bytes(value: object) -> bytes:
    """A reply of the raw client, which does not decode responses."""
    assert isinstance(value, bytes), value
    return value


async def _value_at(raw: aioredis.Redis, key: str) -> bytes:
    return _bytes(await raw.get(key))


async def _memory_usage(raw: aioredis.Redis, key: str | bytes) -> int:
    usage = await raw.memory_usage(key)
    assert usage is not None, key
    return usage


def _idp_sid(session: Session) -> str:
    assert session.idp_sid is not None
    return session.idp_sid


def secrets_of(session: Session) -> list[bytes]:
    """Strings that must never appear in Redis: tokens, and every claim value."""
    assert session.refresh_token is not None
    found = [session.access_token, session.refresh_token, session.access_token[:40],
             session.refresh_token[-40:], session.sub, _idp_sid(session)]
    found += [str(v) for v in session.claims.values() if isinstance(v, str) and len(v) > 3]
    return [s.encode() for s in found]


# --- what Redis holds ---------------------------------------------------------------------

async def test_a_redis_dump_holds_no_token_and_no_claim(store: RedisSessionStore, raw: aioredis.Redis,
                                                        shared: RedisServer, clock: FakeClock, prefix: str) -> None:
    session = make_session(access_token_size=1100)
    await saved(store, session, clock)
    await saved(store, make_session(claims={"sub": "bob", "email": "bob@example.test"}), clock)
    dumped = await everything_in(raw, prefix)
    assert len(dumped) == 5  # two sessions, two sub sets, one IdP sid set
    blob = b"\n".join([k for k in dumped] + [v for vs in dumped.values() for v in vs])
    # ...and the server's own dump file, as an attacker with the RDB would have it.
    await raw.save()
    blob += (Path(shared.dir) / "dump.rdb").read_bytes()
    for secret in secrets_of(session) + [b"bob@example.test", b"Zo\xc3\xab"]:
        assert secret not in blob
        assert base64.b64encode(secret)[:-4] not in blob


async def test_the_key_layout(store: RedisSessionStore, raw: aioredis.Redis, clock: FakeClock, prefix: str) -> None:
    session = make_session()
    await saved(store, session, clock)
    keys = {k.decode() async for k in raw.scan_iter(match=f"{prefix}*")}
    assert keys == {f"{prefix}session:{session.sid}",
                    f"{prefix}sub:{digest(session.sub)}",
                    f"{prefix}idpsid:{digest(_idp_sid(session))}"}
    stored = await _value_at(raw, f"{prefix}session:{session.sid}")
    # version, header length, the clear header an operator may list, then ciphertext.
    assert stored[:1] == b"\x01"
    header = json.loads(stored[3:3 + int.from_bytes(stored[1:3], "big")])
    assert header == {"b": BINDING, "t": session.authenticated_at, "e": session.expires_at,
                      "u": digest(session.sub), "i": digest(_idp_sid(session))}
    assert await raw.smembers(f"{prefix}sub:{digest(session.sub)}") == {session.sid.encode()}
    assert await raw.smembers(f"{prefix}idpsid:{digest(_idp_sid(session))}") == {
        session.sid.encode()}


async def test_the_cookie_is_a_small_ticket(store: RedisSessionStore, clock: FakeClock) -> None:
    jar = await saved(store, make_session(access_token_size=9000), clock)
    assert list(jar) == [f"{NAME}-0"]
    assert len(jar[f"{NAME}-0"]) < 160


@pytest.mark.parametrize(("expires_in", "grace", "max_age", "ttl"), [
    (WEEK, DEFAULT_EXPIRED_GRACE, WEEK, WEEK),  # ALB's defaults: the time left
    (3600, DEFAULT_EXPIRED_GRACE, WEEK, 3600),  # gone when it ends: the ticket knows it ended
    (3600, WEEK, WEEK, WEEK),  # an operator's grace, capped at the cookie's lifetime
    (3600, 86400, WEEK, 3600 + 86400),  # a smaller grace
    (3600.2, 0, WEEK, 3601),  # whole seconds, rounded up
    (-50, 86400, WEEK, 1 + 86400),  # saved already expired: at least 1 s, plus the grace
    (2 * WEEK, 86400, WEEK, 2 * WEEK),  # longer than the cookie: never below the remaining
])
async def test_ttl_is_remaining_plus_grace_capped_at_the_cookie_lifetime(
        shared: RedisServer, sealer: Sealer, clock: FakeClock, raw: aioredis.Redis, prefix: str, expires_in: float,
        grace: int, max_age: int, ttl: int) -> None:
    store = RedisSessionStore.from_url(shared.url, sealer=sealer, clock=clock,
                                       key_prefix=prefix, expired_grace=grace)
    session = make_session(expires_at=clock() + expires_in)
    await saved(store, session, clock, policy=replace(POLICY, max_age=max_age))
    assert ttl - 2 <= await raw.ttl(f"{prefix}session:{session.sid}") <= ttl
    assert await raw.ttl(f"{prefix}sub:{digest(session.sub)}") >= ttl - 2
    assert await raw.ttl(f"{prefix}idpsid:{digest(_idp_sid(session))}") >= ttl - 2
    await store.close()


async def test_index_ttls_follow_their_longest_lived_session(shared: RedisServer, sealer: Sealer, clock: FakeClock,
                                                             raw: aioredis.Redis, prefix: str) -> None:
    store = RedisSessionStore.from_url(shared.url, sealer=sealer, clock=clock,
                                       key_prefix=prefix, expired_grace=0)
    long = make_session(expires_at=clock() + 50_000)
    short = make_session(expires_at=clock() + 100)
    await saved(store, long, clock)
    await saved(store, short, clock)  # must not shorten the user's index
    assert await raw.ttl(f"{prefix}sub:{digest(long.sub)}") > 49_000
    await store.close()


async def test_an_entry_moved_to_another_sid_does_not_open(store: RedisSessionStore, raw: aioredis.Redis,
                                                           clock: FakeClock, prefix: str) -> None:
    # Write access to Redis is not enough to hand one user another's session.
    alice, bob = make_session(), make_session(claims={"sub": "bob"})
    jar_alice = await saved(store, alice, clock)
    await saved(store, bob, clock)
    stolen = await _value_at(raw, f"{prefix}session:{bob.sid}")
    await raw.set(f"{prefix}session:{alice.sid}", stolen)
    with pytest.raises(SessionInvalid):
        await store.load(jar_alice, NAME, BINDING)


async def test_a_flipped_bit_in_redis_is_invalid(store: RedisSessionStore, raw: aioredis.Redis, clock: FakeClock,
                                                 prefix: str) -> None:
    session = make_session()
    jar = await saved(store, session, clock)
    key = f"{prefix}session:{session.sid}"
    value = await _value_at(raw, key)
    for at in (20, 200, len(value) - 1):  # the clear header, the ciphertext, the tag
        flipped = bytearray(value)
        flipped[at] ^= 1
        await raw.set(key, bytes(flipped))
        with pytest.raises(SessionInvalid):
            await store.load(jar, NAME, BINDING)


# --- replicas -----------------------------------------------------------------------------

async def test_another_replica_loads_and_refreshes_the_session(shared: RedisServer, sealer: Sealer, clock: FakeClock,
                                                               prefix: str) -> None:
    a = RedisSessionStore.from_url(shared.url, sealer=sealer, clock=clock, key_prefix=prefix)
    b = RedisSessionStore.from_url(shared.url, sealer=Sealer(sealer_secrets(), "session"),
                                   clock=clock, key_prefix=prefix)
    session = make_session()
    old_jar = await saved(a, session, clock)
    assert await b.load(old_jar, NAME, BINDING) == session
    refreshed = replace(session, access_token="refreshed-token")
    new_jar = await saved(b, refreshed, clock, old_jar)
    # A request still carrying the old cookie (in flight during the refresh, on any
    # replica) reads the refreshed session: the ticket's secret did not change.
    assert await a.load(old_jar, NAME, BINDING) == refreshed
    assert await a.load(new_jar, NAME, BINDING) == refreshed
    await a.close()
    await b.close()


def sealer_secrets() -> list[str]:
    return [SECRET]


async def test_a_replica_with_other_session_secrets_cannot_open_the_ticket(shared: RedisServer, clock: FakeClock,
                                                                           prefix: str) -> None:
    a = RedisSessionStore.from_url(shared.url, sealer=Sealer(["a" * 40], "session"),
                                   clock=clock, key_prefix=prefix)
    b = RedisSessionStore.from_url(shared.url, sealer=Sealer(["b" * 40], "session"),
                                   clock=clock, key_prefix=prefix)
    jar = await saved(a, make_session(), clock)
    with pytest.raises(SessionInvalid):
        await b.load(jar, NAME, BINDING)
    await a.close()
    await b.close()


async def test_delete_removes_the_entry_and_its_index_memberships(store: RedisSessionStore, raw: aioredis.Redis,
                                                                  clock: FakeClock, prefix: str) -> None:
    session, other = make_session(), make_session()  # same user, same IdP session
    await saved(store, session, clock)
    await saved(store, other, clock)
    await store.delete(session)
    assert not await raw.exists(f"{prefix}session:{session.sid}")
    assert await raw.smembers(f"{prefix}sub:{digest(session.sub)}") == {other.sid.encode()}
    assert await raw.smembers(f"{prefix}idpsid:{digest(_idp_sid(session))}") == {
        other.sid.encode()}


async def test_a_session_without_idp_sid_has_no_idp_index(store: RedisSessionStore, raw: aioredis.Redis,
                                                          clock: FakeClock, prefix: str) -> None:
    session = make_session(idp_sid=None)
    jar = await saved(store, session, clock)
    assert not [k async for k in raw.scan_iter(match=f"{prefix}idpsid:*")]
    assert await store.load(jar, NAME, BINDING) == session
    await store.delete(session)
    assert not [k async for k in raw.scan_iter(match=f"{prefix}*")]


async def test_bytes_per_typical_session(store: RedisSessionStore, raw: aioredis.Redis, clock: FakeClock, prefix: str,
                                         record_property: Callable[[str, object], None]) -> None:
    # A demo user's claims, a ~1 KB access token and a refresh token.
    session = make_session(access_token_size=1024)
    jar = await saved(store, session, clock)
    key = f"{prefix}session:{session.sid}"
    value = await _value_at(raw, key)
    memory = await _memory_usage(raw, key)
    indexes = sum([await _memory_usage(raw, k) async for k in raw.scan_iter(match=f"{prefix}*")
                   if k != key.encode()])
    header = int.from_bytes(value[1:3], "big")
    record_property("redis_value_bytes", len(value))
    record_property("redis_memory_usage", memory)
    record_property("cookie_chars", len(jar[f"{NAME}-0"]))
    print(f"\nplaintext {len(session.to_bytes())} B, value {len(value)} B "
          f"(header {header} B), MEMORY USAGE {memory} B + indexes {indexes} B, "
          f"cookie {len(jar[f'{NAME}-0'])} chars")
    assert len(value) == len(session.to_bytes()) + 3 + header + 12 + 16
    assert memory < len(value) + 200


# --- Redis down, hung, restarted ----------------------------------------------------------

async def test_redis_stopped_is_unavailable_at_once_then_recovers_on_the_same_store(
        redis_server: RedisServer, sealer: Sealer, clock: FakeClock) -> None:
    store = RedisSessionStore.from_url(redis_server.url, sealer=sealer, clock=clock)
    session = make_session()
    jar = await saved(store, session, clock)
    redis_server.stop()
    for attempt in (lambda: store.load(jar, NAME, BINDING),
                    lambda: store.save(session, NAME, {}, POLICY, clock()),
                    lambda: store.delete(session)):
        started = time.monotonic()
        with pytest.raises(SessionStoreUnavailable) as caught:
            await attempt()
        assert time.monotonic() - started < 1.0
        assert isinstance(caught.value, ConnectionError)
        assert not isinstance(caught.value, SessionInvalid)
    redis_server.start()  # same port, empty (no persistence): the old session is gone...
    with pytest.raises(SessionInvalid):
        await store.load(jar, NAME, BINDING)
    # A refresh of it does not recreate it (the browser drops the ticket)...
    assert apply(jar, await store.save(session, NAME, jar, POLICY, clock())) == {}
    again = make_session()  # ...and the same store serves the next login
    jar = await saved(store, again, clock)
    assert await store.load(jar, NAME, BINDING) == again
    await store.close()


async def test_a_hung_redis_fails_within_the_default_timeouts(redis_server: RedisServer, sealer: Sealer,
                                                              clock: FakeClock) -> None:
    store = RedisSessionStore.from_url(redis_server.url, sealer=sealer, clock=clock)
    session = make_session()
    jar = await saved(store, session, clock)
    redis_server.pause()
    started = time.monotonic()
    with pytest.raises(SessionStoreUnavailable):
        await store.load(jar, NAME, BINDING)
    assert 0.9 < time.monotonic() - started < 2.0  # the 1 s read timeout, no backoff
    redis_server.resume()
    assert await store.load(jar, NAME, BINDING) == session
    await store.close()


async def test_socket_timeout_from_the_url(redis_server: RedisServer, sealer: Sealer, clock: FakeClock) -> None:
    store = RedisSessionStore.from_url(f"{redis_server.url}?socket_timeout=0.2", sealer=sealer,
                                       clock=clock)
    jar = await saved(store, make_session(), clock)
    redis_server.pause()
    started = time.monotonic()
    with pytest.raises(SessionStoreUnavailable):
        await store.load(jar, NAME, BINDING)
    assert time.monotonic() - started < 0.6
    redis_server.resume()
    await store.close()


async def test_a_burst_larger_than_the_pool_waits_for_connections(shared: RedisServer, sealer: Sealer,
                                                                  clock: FakeClock) -> None:
    # redis-py's own pool would raise "Too many connections" (a 503) at request 5.
    store = RedisSessionStore.from_url(f"{shared.url}?max_connections=4", sealer=sealer,
                                       clock=clock, key_prefix=unique_prefix())
    session = make_session()
    jar = await saved(store, session, clock)
    loaded = await asyncio.gather(*[store.load(jar, NAME, BINDING) for _ in range(300)])
    assert loaded == [session] * 300
    await store.close()


async def test_a_burst_after_a_first_shared_state_command_still_fits_the_pool(shared: RedisServer, sealer: Sealer,
                                                                              clock: FakeClock) -> None:
    """The first command through `execute` (the shared signing keys' load, with no key file)
    once took a permit from one semaphore and gave it back to the next: one permit more than
    connections, and the burst's 5th command failed at once (issue 14: 503s, Redis healthy)."""
    store = RedisSessionStore.from_url(f"{shared.url}?max_connections=4", sealer=sealer,
                                       clock=clock, key_prefix=unique_prefix())
    assert await store.execute(lambda client: client.ping())
    session = make_session()
    jar = await saved(store, session, clock)
    loaded = await asyncio.gather(*[store.load(jar, NAME, BINDING) for _ in range(300)])
    assert loaded == [session] * 300
    await store.close()


async def test_a_hung_redis_fails_fast_for_requests_queued_behind_the_pool(redis_server: RedisServer, sealer: Sealer,
                                                                          clock: FakeClock) -> None:
    store = RedisSessionStore.from_url(f"{redis_server.url}?max_connections=2&socket_timeout=0.3",
                                       sealer=sealer, clock=clock)
    jar = await saved(store, make_session(), clock)
    redis_server.pause()
    started = time.monotonic()
    results = await asyncio.gather(*[store.load(jar, NAME, BINDING) for _ in range(20)],
                                   return_exceptions=True)
    assert all(isinstance(r, SessionStoreUnavailable) for r in results)
    assert time.monotonic() - started < 1.0
    redis_server.resume()
    await store.close()


async def test_sessions_survive_a_restart_of_a_persistent_redis(persistent_server: RedisServer, sealer: Sealer,
                                                                clock: FakeClock) -> None:
    store = RedisSessionStore.from_url(persistent_server.url, sealer=sealer, clock=clock)
    session = make_session()
    jar = await saved(store, session, clock)
    persistent_server.stop()
    persistent_server.start()
    assert await store.load(jar, NAME, BINDING) == session
    await store.close()


# --- URLs ---------------------------------------------------------------------------------

async def test_password_and_db_number_from_the_url(sealer: Sealer, clock: FakeClock) -> None:
    srv = RedisServer(extra=("--requirepass", "s3cr3t/pw")).start()
    try:
        url = f"redis://:s3cr3t%2Fpw@127.0.0.1:{srv.port}/3"
        store = RedisSessionStore.from_url(url, sealer=sealer, clock=clock)
        session = make_session()
        jar = await saved(store, session, clock)
        assert await store.load(jar, NAME, BINDING) == session
        raw = aioredis.Redis(port=srv.port, password="s3cr3t/pw", db=3)
        assert await raw.exists(f"albauth:session:{session.sid}")
        await raw.aclose()
        await store.close()
        wrong = RedisSessionStore.from_url(f"redis://:nope@127.0.0.1:{srv.port}/3",
                                           sealer=sealer, clock=clock)
        with pytest.raises(SessionStoreUnavailable):  # an auth error is not a bad cookie
            await wrong.load(jar, NAME, BINDING)
        await wrong.close()
    finally:
        srv.close()


async def test_a_unix_socket_url(sealer: Sealer, clock: FakeClock, tmp_path: Path) -> None:
    sock = f"/tmp/albauth-{os.getpid()}-{tmp_path.name[-8:]}.sock"
    srv = RedisServer(extra=("--unixsocket", sock)).start()
    try:
        store = RedisSessionStore.from_url(f"unix://{sock}?db=2", sealer=sealer, clock=clock)
        session = make_session()
        assert await store.load(await saved(store, session, clock), NAME, BINDING) == session
        raw = aioredis.Redis(port=srv.port, db=2)
        assert await raw.exists(f"albauth:session:{session.sid}")
        await raw.aclose()
        await store.close()
    finally:
        srv.close()


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:6379", "redis+sentinel://127.0.0.1:26379", "redis+sentinel://h:1/a/0/x",
    "redis+cluster://127.0.0.1:7000/1", "redis+cluster://h:1?bogus=1", "redis+cluster://:1",
    "redis://127.0.0.1?socket_timeout=soon", "redis://127.0.0.1?max_connections=lots",
])
def test_a_bad_url_is_refused_at_startup(sealer: Sealer, url: str) -> None:
    with pytest.raises(ValueError):
        RedisSessionStore.from_url(url, sealer=sealer)
