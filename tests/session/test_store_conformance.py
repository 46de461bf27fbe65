"""Every session store against the one shared contract (tests/session/conformance.py)."""

from __future__ import annotations

import pytest

from albauth.clock import FakeClock
from albauth.session import CookieSessionStore, MemorySessionStore, Sealer, SessionStore

from .conformance import SessionStoreConformance, StoreCase
from .redis_fixtures import REDIS_CASE


async def _cookie(sealer: Sealer, clock: FakeClock) -> SessionStore:
    return CookieSessionStore(sealer)


async def _memory(sealer: Sealer, clock: FakeClock) -> SessionStore:
    return MemorySessionStore(sealer, clock)


STORES = [
    StoreCase("cookie", _cookie, server_side=False),
    StoreCase("memory", _memory, server_side=True),
    REDIS_CASE,  # a private redis-server (tests/session/redis_fixtures.py)
]


@pytest.fixture(params=STORES, ids=str)
def store_case(request: pytest.FixtureRequest) -> StoreCase:
    case: StoreCase = request.param
    return case


class TestSessionStore(SessionStoreConformance):
    pass
