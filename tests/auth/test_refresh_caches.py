"""What a replica keeps per refresh: the signed identity header and the refresh it just did
(issue 14, fix 6: both grew by an entry per refresh, bounded only by count), and the one
save per refresh whatever the coordinator (issue 8). No HTTP here: the caches' clock and a
counting save are all there is to it."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from albauth.auth.headers import _CACHE_MAX, IdentityHeaders
from albauth.auth.refresh import RefreshOutcome, SingleFlightRefresher
from albauth.clock import FakeClock
from albauth.session.model import Session
from albauth.signing.albjwt import AlbJwtSigner
from albauth.signing.keyring import KeyRing

ISSUER, CLIENT = "https://idp.example", "app"


def session(n: int, now: float) -> Session:
    return Session(sid=f"sid-{n % 50}", binding="b", claims={"sub": f"user-{n % 50}"},
                   access_token=f"access-{n}", refresh_token="refresh", access_token_expires_at=now,
                   authenticated_at=now, expires_at=now + 86400)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(1_780_000_000.0)


def test_signed_headers_of_refreshed_tokens_expire_with_their_reuse_window(clock: FakeClock) -> None:
    headers = IdentityHeaders(AlbJwtSigner(KeyRing.generate(), signer_arn="arn:test"), clock,
                              reuse_seconds=30)
    for n in range(600):  # 50 users refreshing every 60 s, 10 minutes
        headers.data(session(n, clock()), issuer=ISSUER, client_id=CLIENT)
        clock.advance(1)
    # The last 30 to 60 s (a sweep per reuse period), not 600 stale access tokens.
    assert headers.cached() <= 60


def test_a_header_is_reused_within_its_window_only(clock: FakeClock) -> None:
    headers = IdentityHeaders(AlbJwtSigner(KeyRing.generate(), signer_arn="arn:test"), clock,
                              reuse_seconds=30)
    s = session(1, clock())
    first = headers.data(s, issuer=ISSUER, client_id=CLIENT)
    clock.advance(29)
    assert headers.data(s, issuer=ISSUER, client_id=CLIENT) == first
    clock.advance(2)
    assert headers.data(s, issuer=ISSUER, client_id=CLIENT) != first


async def test_remembered_refreshes_expire_after_30_seconds(clock: FakeClock) -> None:
    refresher = SingleFlightRefresher(clock)
    saves: list[Session] = []

    async def persist(s: Session) -> list[str]:
        saves.append(s)
        return [f"cookie={s.access_token}"]

    for n in range(300):
        s = session(n, clock())
        await refresher.refresh(s, lambda s: _refreshed(s), reload=_nothing, persist=persist)
        clock.advance(1)
    assert refresher.remembered() <= 30
    assert len(saves) == 300


async def test_concurrent_requests_share_one_refresh_and_its_one_save(clock: FakeClock) -> None:
    refresher = SingleFlightRefresher(clock)  # LocalRefresh: the memory and cookie stores
    saves: list[Session] = []

    async def persist(s: Session) -> list[str]:
        saves.append(s)
        return [f"cookie={s.access_token}"]

    async def slow_refresh(s: Session) -> Session:
        await asyncio.sleep(0.05)
        return await _refreshed(s)

    s = session(1, clock())
    outcomes = await asyncio.gather(*(
        refresher.refresh(s, slow_refresh, reload=_nothing, persist=persist) for _ in range(10)))
    later = await refresher.refresh(s, slow_refresh, reload=_nothing, persist=persist)
    assert len(saves) == 1
    expected = RefreshOutcome(saves[0], ("cookie=access-1-refreshed",))
    assert all(o == expected for o in [*outcomes, later])


async def _refreshed(s: Session) -> Session:
    return replace(s, access_token=f"{s.access_token}-refreshed")


async def _nothing() -> Session | None:
    return None


def test_the_signed_header_cache_is_bounded_and_keeps_the_busy_sessions(clock: FakeClock) -> None:
    """More distinct sessions in one reuse period than the cache holds: it stays at its
    bound (about 1 kB an entry), and a session that keeps sending requests stays signed."""
    headers = IdentityHeaders(AlbJwtSigner(KeyRing.generate(), signer_arn="arn:test"), clock,
                              reuse_seconds=30)
    busy = Session(sid="busy", binding="b", claims={"sub": "busy"}, access_token="busy-token",
                   refresh_token=None, access_token_expires_at=None, authenticated_at=clock(),
                   expires_at=clock() + 86400)
    first = headers.data(busy, issuer=ISSUER, client_id=CLIENT)
    for n in range(_CACHE_MAX + 500):
        headers.data(replace(busy, sid=f"other-{n}", access_token=f"token-{n}"), issuer=ISSUER, client_id=CLIENT)
        if n % 100 == 0:
            assert headers.data(busy, issuer=ISSUER, client_id=CLIENT) == first
    assert headers.cached() == _CACHE_MAX
    assert headers.data(busy, issuer=ISSUER, client_id=CLIENT) == first
