"""albauth's own HTTP/1.1 client to targets (`albauth.upstream`), through a real albauth.

Targets here are written against raw sockets, so each test can misbehave exactly as a real
target might (close an idle connection, stop half way, send 1xx, a huge head...), and can
count the connections it was given.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from .raw_target import Handler, RawTarget, StartRawTarget


@pytest.fixture
async def raw_target() -> AsyncIterator[StartRawTarget]:
    started: list[RawTarget] = []

    async def start(handle: Handler) -> RawTarget:
        target = RawTarget(handle)
        await target.start()
        started.append(target)
        return target

    yield start
    for target in started:
        target.close()


@pytest.fixture
async def client() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20)) as session:
        yield session

