"""The store through Sentinel and Cluster URLs, against real (one-node) deployments."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from albauth.clock import FakeClock
from albauth.session import CookiePolicy, Sealer, SessionInvalid
from albauth.session.redis_admin import list_sessions
from albauth.session.redis_store import RedisSessionStore, SessionStoreUnavailable
from tests.session.helpers import BINDING, NAME, apply, make_session
from tests.session.redis_fixtures import REDIS_SERVER, RedisServer, die_with_parent, free_port

POLICY = CookiePolicy()


def command(port: int, *args: str) -> bytes:
    """One command over a raw socket (RESP), for setting servers up."""
    payload = f"*{len(args)}\r\n".encode() + b"".join(
        f"${len(a.encode())}\r\n{a}\r\n".encode() for a in args)
    with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
        s.sendall(payload)
        return s.recv(65536)


@pytest.fixture
def sentinel(redis_server: RedisServer) -> Iterator[int]:
    """A sentinel watching `redis_server` as service `mymaster`; yields its port."""
    port = free_port()
    conf = Path(redis_server.dir) / "sentinel.conf"
    conf.write_text(f"port {port}\nbind 127.0.0.1\ndir {redis_server.dir}\n"
                    f"sentinel monitor mymaster 127.0.0.1 {redis_server.port} 1\n")
    proc = subprocess.Popen([REDIS_SERVER, str(conf), "--sentinel"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, preexec_fn=die_with_parent)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                if str(redis_server.port).encode() in command(
                        port, "SENTINEL", "get-master-addr-by-name", "mymaster"):
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "sentinel did not start"
            time.sleep(0.02)
        yield port
    finally:
        proc.terminate()
        proc.wait(5)


@pytest.fixture
def cluster() -> Iterator[RedisServer]:
    """A one-node Redis Cluster holding all 16384 slots."""
    # The cluster bus listens on port + 10000, so the port must leave room for it.
    port = next(p for p in iter(free_port, None) if p < 55000)
    srv = RedisServer(port=port, extra=("--cluster-enabled", "yes", "--cluster-config-file",
                                        "nodes.conf")).start()
    try:
        assert command(srv.port, "CLUSTER", "ADDSLOTSRANGE", "0", "16383").startswith(b"+OK")
        deadline = time.monotonic() + 10
        while b"cluster_state:ok" not in command(srv.port, "CLUSTER", "INFO"):
            assert time.monotonic() < deadline, "cluster did not become ok"
            time.sleep(0.02)
        yield srv
    finally:
        srv.close()


async def exercise(store: RedisSessionStore, clock: FakeClock) -> None:
    """Save, load, list, revoke, delete: every command the store sends."""
    session, other = make_session(), make_session()
    jar = apply({}, await store.save(session, NAME, {}, POLICY, clock()))
    jar_other = apply({}, await store.save(other, NAME, {}, POLICY, clock()))
    assert await store.load(jar, NAME, BINDING) == session
    assert {r.sid for r in await list_sessions(store)} == {session.sid, other.sid}
    assert {r.sid for r in await list_sessions(store, sub=session.sub)} == {session.sid,
                                                                          other.sid}
    assert await store.revoke(idp_sid=session.idp_sid, sid=session.sid) == 1
    with pytest.raises(SessionInvalid):
        await store.load(jar, NAME, BINDING)
    await store.delete(other)
    with pytest.raises(SessionInvalid):
        await store.load(jar_other, NAME, BINDING)
    assert await list_sessions(store) == []


async def test_through_sentinel(redis_server: RedisServer, sentinel: int, sealer: Sealer, clock: FakeClock) -> None:
    redis_server.stop()
    redis_server.extra = ("--requirepass", "pw")
    redis_server.start()
    # A second sentinel that is down: the client asks the next one.
    url = f"redis+sentinel://:pw@127.0.0.1:{free_port()},127.0.0.1:{sentinel}/mymaster/4"
    store = RedisSessionStore.from_url(url, sealer=sealer, clock=clock)
    await exercise(store, clock)
    session = make_session()
    jar = apply({}, await store.save(session, NAME, {}, POLICY, clock()))
    with redis.Redis(port=redis_server.port, password="pw", db=4) as direct:
        assert direct.keys() and all(k.startswith(b"albauth:") for k in direct.keys())
    redis_server.stop()  # the master the sentinel names is down: 503, not a hang
    started = time.monotonic()
    with pytest.raises(SessionStoreUnavailable):
        await store.load(jar, NAME, BINDING)
    assert time.monotonic() - started < 2
    redis_server.start()  # back (empty: no persistence), found again through the sentinel
    with pytest.raises(SessionInvalid):
        await store.load(jar, NAME, BINDING)
    again = make_session()
    jar = apply({}, await store.save(again, NAME, {}, POLICY, clock()))
    assert await store.load(jar, NAME, BINDING) == again
    await store.close()


async def test_through_sentinel_with_no_sentinel_up_is_unavailable(sealer: Sealer, clock: FakeClock) -> None:
    store = RedisSessionStore.from_url(f"redis+sentinel://127.0.0.1:{free_port()}/mymaster",
                                       sealer=sealer, clock=clock)
    with pytest.raises(SessionStoreUnavailable):
        await store.save(make_session(), NAME, {}, POLICY, clock())
    await store.close()


async def test_through_cluster(cluster: RedisServer, sealer: Sealer, clock: FakeClock) -> None:
    store = RedisSessionStore.from_url(f"redis+cluster://127.0.0.1:{cluster.port}",
                                       sealer=sealer, clock=clock)
    await exercise(store, clock)
    jar = apply({}, await store.save(make_session(), NAME, {}, POLICY, clock()))
    cluster.stop()
    started = time.monotonic()
    with pytest.raises(SessionStoreUnavailable):
        await store.load(jar, NAME, BINDING)
    assert time.monotonic() - started < 2
    await store.close()
