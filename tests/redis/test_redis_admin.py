"""Listing and revoking sessions by user, by albauth sid and by the provider's sid."""

from __future__ import annotations

from dataclasses import replace

import pytest
import redis.asyncio as aioredis

from albauth.clock import FakeClock
from albauth.session import CookiePolicy, Session, SessionInvalid
from albauth.session.redis_admin import list_sessions
from albauth.session.redis_store import RedisSessionStore
from albauth.session.redis_value import digest
from tests.session.helpers import BINDING, NAME, apply, make_session

POLICY = CookiePolicy()


# name -> (session, its cookie jar)
LoggedIn = dict[str, tuple[Session, dict[str, str]]]


@pytest.fixture
async def logged_in(store: RedisSessionStore, clock: FakeClock) -> LoggedIn:
    """alice twice in IdP session 1, alice once in IdP session 2, bob once in IdP session 3;
    name -> (session, cookie jar)."""
    sessions = {
        "alice-1a": make_session(idp_sid="idp-1"),
        "alice-1b": make_session(idp_sid="idp-1"),
        "alice-2": make_session(idp_sid="idp-2"),
        "bob-3": make_session(claims={"sub": "bob"}, idp_sid="idp-3"),
    }
    out: LoggedIn = {}
    for name, s in sessions.items():
        out[name] = (s, apply({}, await store.save(s, NAME, {}, POLICY, clock())))
    return out


async def alive(store: RedisSessionStore, logged_in: LoggedIn) -> set[str]:
    names: set[str] = set()
    for name, (session, jar) in logged_in.items():
        try:
            assert await store.load(jar, NAME, BINDING) == session
            names.add(name)
        except SessionInvalid:
            pass
    return names


async def test_list_every_session_shows_no_claims(store: RedisSessionStore, logged_in: LoggedIn) -> None:
    records = await list_sessions(store)
    assert [r.sid for r in records] == sorted(s.sid for s, _ in logged_in.values())
    alice = logged_in["alice-1a"][0]
    first = next(r for r in records if r.sid == alice.sid)
    assert first.binding == BINDING
    assert first.expires_at == alice.expires_at
    assert first.authenticated_at == alice.authenticated_at
    assert first.sub_digest == digest(alice.sub)
    assert first.idp_sid_digest == digest("idp-1")
    assert 0 < first.ttl <= 604800
    assert "2f1c0c8e-user" not in repr(records)


async def test_list_one_users_sessions(store: RedisSessionStore, logged_in: LoggedIn) -> None:
    records = await list_sessions(store, sub="2f1c0c8e-user")
    assert {r.sid for r in records} == {logged_in[n][0].sid
                                       for n in ("alice-1a", "alice-1b", "alice-2")}
    assert await list_sessions(store, sub="nobody") == []


async def test_revoke_by_sub_ends_every_session_of_the_user(store: RedisSessionStore, logged_in: LoggedIn) -> None:
    assert await store.revoke(sub="2f1c0c8e-user") == 3
    assert await alive(store, logged_in) == {"bob-3"}
    assert await store.revoke(sub="2f1c0c8e-user") == 0
    assert await list_sessions(store, sub="2f1c0c8e-user") == []


async def test_revoke_by_idp_sid_ends_that_provider_sessions_sessions(store: RedisSessionStore,
                                                                      logged_in: LoggedIn) -> None:
    # OIDC back-channel logout with only `sid`.
    assert await store.revoke(idp_sid="idp-1") == 2
    assert await alive(store, logged_in) == {"alice-2", "bob-3"}


async def test_revoke_by_sub_and_idp_sid_needs_both_to_match(store: RedisSessionStore, logged_in: LoggedIn) -> None:
    assert await store.revoke(sub="bob", idp_sid="idp-1") == 0
    assert await store.revoke(sub="2f1c0c8e-user", idp_sid="idp-2") == 1
    assert await alive(store, logged_in) == {"alice-1a", "alice-1b", "bob-3"}


async def test_revoke_one_session_by_sid(store: RedisSessionStore, logged_in: LoggedIn, raw: aioredis.Redis,
                                         prefix: str) -> None:
    target = logged_in["alice-1b"][0]
    assert await store.revoke(sid=target.sid) == 1
    assert await alive(store, logged_in) == {"alice-1a", "alice-2", "bob-3"}
    # Its index memberships went with it.
    assert target.sid.encode() not in await raw.smembers(f"{prefix}sub:{digest(target.sub)}")
    assert target.sid.encode() not in await raw.smembers(f"{prefix}idpsid:{digest('idp-1')}")
    assert await store.revoke(sid=target.sid) == 0
    assert await store.revoke(sid="no-such-sid") == 0


async def test_revoke_by_sid_and_sub_of_another_user_does_nothing(store: RedisSessionStore,
                                                                  logged_in: LoggedIn) -> None:
    assert await store.revoke(sub="bob", sid=logged_in["alice-2"][0].sid) == 0
    assert len(await alive(store, logged_in)) == 4


async def test_revoke_needs_a_selector(store: RedisSessionStore) -> None:
    with pytest.raises(ValueError):
        await store.revoke()


async def test_listing_prunes_index_entries_of_sessions_gone(store: RedisSessionStore, logged_in: LoggedIn,
                                                             raw: aioredis.Redis,
                                                             prefix: str) -> None:
    gone = logged_in["alice-2"][0]
    await raw.delete(f"{prefix}session:{gone.sid}")  # as if its TTL had run out
    records = await list_sessions(store, sub=gone.sub)
    assert gone.sid not in {r.sid for r in records}
    assert gone.sid.encode() not in await raw.smembers(f"{prefix}sub:{digest(gone.sub)}")


async def test_a_refresh_finishing_after_a_revocation_does_not_bring_the_session_back(
        store: RedisSessionStore, logged_in: LoggedIn, clock: FakeClock) -> None:
    session, jar = logged_in["alice-1a"]
    assert await store.load(jar, NAME, BINDING) == session  # the refresh starts
    assert await store.revoke(sub=session.sub) == 3  # meanwhile, an admin revokes
    refreshed = replace(session, access_token="refreshed")
    headers = await store.save(refreshed, NAME, jar, POLICY, clock())
    assert apply(jar, headers) == {}  # the ticket is dropped from the browser
    with pytest.raises(SessionInvalid):
        await store.load(jar, NAME, BINDING)
    assert await list_sessions(store, sub=session.sub) == []
