"""The in-process store: a sealed ticket in the cookie, the session in memory."""

from __future__ import annotations

import pytest

from albauth.clock import FakeClock
from albauth.session import CookiePolicy, MemorySessionStore, Sealer, memory_store
from albauth.session.errors import SessionInvalid

from .helpers import BINDING, NAME, apply, cookie_pairs, make_session

POLICY = CookiePolicy()


async def test_the_cookie_carries_only_a_small_ticket(sealer: Sealer, clock: FakeClock) -> None:
    session = make_session(access_token_size=9000)
    headers = await MemorySessionStore(sealer, clock).save(session, NAME, {}, POLICY, clock())
    [(_, value, _)] = cookie_pairs(headers)
    assert len(value) < 100


async def test_entries_are_swept_once_no_browser_can_present_them(
        sealer: Sealer, clock: FakeClock) -> None:
    store = MemorySessionStore(sealer, clock)
    old = make_session(expires_at=clock() + 60)
    await store.save(old, NAME, {}, POLICY, clock())
    clock.advance(POLICY.max_age + 1)
    jar = apply({}, await store.save(make_session(), NAME, {}, POLICY, clock()))
    assert len(store) == 1
    assert await store.load(jar, NAME, BINDING) is not None


async def test_close_forgets_everything(sealer: Sealer, clock: FakeClock) -> None:
    store = MemorySessionStore(sealer, clock)
    await store.save(make_session(), NAME, {}, POLICY, clock())
    await store.close()
    assert len(store) == 0


async def test_sessions_beyond_the_opened_ones_open_from_their_packed_form(
        sealer: Sealer, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    """Entries are kept packed, a few sessions opened: one that fell out of the opened
    ones loads whole, and a revoke still ends it."""
    monkeypatch.setattr(memory_store, "_OPENED", 1)
    store = MemorySessionStore(sealer, clock)
    first = make_session(sid="first", claims={"sub": "alice", "groups": ["a", "b"], "n": 1})
    jar = apply({}, await store.save(first, NAME, {}, POLICY, clock()))
    await store.save(make_session(sid="second"), NAME, {}, POLICY, clock())  # pushes `first` out
    assert await store.load(jar, NAME, BINDING) == first
    assert await store.revoke(sub="alice") == 1
    with pytest.raises(SessionInvalid):
        await store.load(jar, NAME, BINDING)
