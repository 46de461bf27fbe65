"""The cookie store: ALB's whole-session-in-the-browser design (checklist 35, 38, 41)."""

from __future__ import annotations

import base64

import pytest

from albauth.session import (
    MAX_SET_COOKIE_LINE,
    CookiePolicy,
    CookieSessionStore,
    Sealer,
    SessionInvalid,
    SessionTooLarge,
)

from .helpers import BINDING, NAME, T0, apply, cookie_pairs, make_session

POLICY = CookiePolicy()


async def test_a_9kb_access_token_takes_3_shards(sealer: Sealer) -> None:
    headers = await CookieSessionStore(sealer).save(make_session(access_token_size=9000), NAME,
                                                    {}, POLICY, T0)
    assert len(headers) == 3
    values = [v for _, v, _ in cookie_pairs(headers)]
    assert all(len(f"Set-Cookie: {h}".encode()) <= MAX_SET_COOKIE_LINE for h in headers)
    assert not any(v.endswith("=") for v in values[:-1])
    assert base64.b64decode("".join(values), validate=True)


async def test_shards_are_not_url_encoded(sealer: Sealer) -> None:
    headers = await CookieSessionStore(sealer).save(make_session(access_token_size=9000), NAME,
                                                    {}, POLICY, T0)
    assert not any("%" in v for _, v, _ in cookie_pairs(headers))


async def test_dropping_shard_1_makes_the_session_invalid(sealer: Sealer) -> None:
    store = CookieSessionStore(sealer)
    jar = apply({}, await store.save(make_session(access_token_size=9000), NAME, {}, POLICY, T0))
    del jar[f"{NAME}-1"]
    with pytest.raises(SessionInvalid):
        await store.load(jar, NAME, BINDING)


async def test_a_session_beyond_4_shards_is_refused(sealer: Sealer) -> None:
    with pytest.raises(SessionTooLarge):
        await CookieSessionStore(sealer).save(make_session(access_token_size=20000), NAME, {},
                                              POLICY, T0)


async def test_opens_after_secret_rotation(sealer: Sealer) -> None:
    from .helpers import OLD_SECRET, SECRET

    session = make_session()
    jar = apply({}, await CookieSessionStore(Sealer([OLD_SECRET], "session")).save(
        session, NAME, {}, POLICY, T0))
    rotated = CookieSessionStore(Sealer([SECRET, OLD_SECRET], "session"))
    assert await rotated.load(jar, NAME, BINDING) == session


async def test_repeat_loads_reuse_the_opened_session(sealer: Sealer) -> None:
    store = CookieSessionStore(sealer)
    jar = apply({}, await store.save(make_session(), NAME, {}, POLICY, T0))
    first = await store.load(jar, NAME, BINDING)
    assert first is not None and await store.load(jar, NAME, BINDING) is first


async def test_a_cached_session_is_still_bound_to_its_rule(sealer: Sealer) -> None:
    from .helpers import OTHER_BINDING

    store = CookieSessionStore(sealer)
    jar = apply({}, await store.save(make_session(), NAME, {}, POLICY, T0))
    assert await store.load(jar, NAME, BINDING) is not None
    with pytest.raises(SessionInvalid):
        await store.load(jar, NAME, OTHER_BINDING)
    renamed = {k.replace(NAME, "Other"): v for k, v in jar.items()}
    with pytest.raises(SessionInvalid):
        await store.load(renamed, "Other", BINDING)


async def test_the_cache_is_bounded(sealer: Sealer) -> None:
    store = CookieSessionStore(sealer, cache_size=2)
    jars = [apply({}, await store.save(make_session(), NAME, {}, POLICY, T0)) for _ in range(3)]
    loaded = [await store.load(jar, NAME, BINDING) for jar in jars]
    assert await store.load(jars[0], NAME, BINDING) is not loaded[0]  # evicted, reopened
    assert await store.load(jars[2], NAME, BINDING) is loaded[2]
    uncached = CookieSessionStore(sealer, cache_size=0)
    assert await uncached.load(jars[0], NAME, BINDING) is not await uncached.load(
        jars[0], NAME, BINDING)
