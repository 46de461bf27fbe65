"""Fixtures for the Redis store tests: private redis-server processes only.

No `__init__.py` here on purpose: with pytest's default import mode a package named
`redis` under tests/ would shadow redis-py. No test ever touches the machine's own Redis
(127.0.0.1:6379 may hold a developer's data).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import redis.asyncio as aioredis

from albauth.clock import FakeClock
from albauth.session import Sealer
from albauth.session.redis_store import RedisSessionStore
from tests.session.helpers import SECRET, T0
from tests.session.redis_fixtures import RedisServer, shared_redis, unique_prefix


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def sealer() -> Sealer:
    return Sealer([SECRET], "session")


@pytest.fixture
def shared() -> RedisServer:
    """The process-wide private server; tests keep apart by key prefix."""
    return shared_redis()


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    """A server of this test's own, which it may stop, pause and restart."""
    srv = RedisServer().start()
    yield srv
    srv.close()


@pytest.fixture
def persistent_server() -> Iterator[RedisServer]:
    srv = RedisServer(persist=True).start()
    yield srv
    srv.close()


@pytest.fixture
def prefix() -> str:
    return unique_prefix()


@pytest.fixture
async def store(shared: RedisServer, sealer: Sealer, clock: FakeClock,
                prefix: str) -> AsyncIterator[RedisSessionStore]:
    s = RedisSessionStore.from_url(shared.url, sealer=sealer, clock=clock, key_prefix=prefix)
    yield s
    await s.close()


@pytest.fixture
async def raw(shared: RedisServer) -> AsyncIterator[aioredis.Redis]:
    """A plain client on the shared server, to look at what the store wrote."""
    client = aioredis.Redis.from_url(shared.url)
    yield client
    await client.aclose()
