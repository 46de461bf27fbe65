"""The contract every SessionStore meets, as one suite run against each store.

To put a new store under it, add one `StoreCase` to `STORES` in test_store_conformance.py:
a name, an async factory `(sealer, clock) -> store`, and whether the session lives on the
server (which decides what `delete` must do).
"""

from __future__ import annotations

import base64
import string
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from albauth.clock import FakeClock
from albauth.session import (
    MAX_SET_COOKIE_LINE,
    CookiePolicy,
    RevocationUnsupported,
    Sealer,
    Session,
    SessionInvalid,
    SessionStore,
    binding_for,
)

from .helpers import BINDING, ISSUER, NAME, OTHER_BINDING, apply, cookie_pairs, make_session

POLICY = CookiePolicy()


@dataclass(frozen=True)
class StoreCase:
    name: str
    make: Callable[[Sealer, FakeClock], Awaitable[SessionStore]]
    server_side: bool

    def __str__(self) -> str:
        return self.name


def _tamper(value: str, at: int) -> str:
    # A character in the middle of the string carries 6 real bits (the last one before
    # the padding may carry unused ones), so changing it always changes the bytes.
    new = "A" if value[at] != "A" else "B"
    return value[:at] + new + value[at + 1:]


class SessionStoreConformance:
    """Subclass in a test module that provides a `store_case` fixture."""

    @pytest.fixture
    async def store(self, store_case: StoreCase, sealer: Sealer,
                    clock: FakeClock) -> AsyncIterator[SessionStore]:
        store = await store_case.make(sealer, clock)
        yield store
        await store.close()

    async def _saved(self, store: SessionStore, session: Session, clock: FakeClock,
                     jar: dict[str, str] | None = None) -> dict[str, str]:
        return apply(jar or {}, await store.save(session, NAME, jar or {}, POLICY, clock()))

    # --- the basics ---------------------------------------------------------------------

    async def test_says_whether_it_can_revoke(self, store: SessionStore, store_case: StoreCase) -> None:
        assert store.can_revoke is store_case.server_side

    async def test_round_trip_preserves_every_field(self, store: SessionStore,
                                                    clock: FakeClock) -> None:
        session = make_session()
        loaded = await store.load(await self._saved(store, session, clock), NAME, BINDING)
        assert loaded == session
        assert loaded is not None and list(loaded.claims) == list(session.claims)
        assert loaded.sub == "2f1c0c8e-user"

    async def test_round_trip_without_optional_fields(self, store: SessionStore,
                                                      clock: FakeClock) -> None:
        session = make_session(refresh_token=None, access_token_expires_at=None, idp_sid=None,
                               claims={"sub": "s"})
        assert await store.load(await self._saved(store, session, clock), NAME,
                                BINDING) == session

    async def test_round_trip_of_a_session_needing_several_shards(
            self, store: SessionStore, clock: FakeClock) -> None:
        session = make_session(access_token_size=9000)
        assert await store.load(await self._saved(store, session, clock), NAME,
                                BINDING) == session

    async def test_no_cookies_is_no_session(self, store: SessionStore) -> None:
        assert await store.load({}, NAME, BINDING) is None
        assert await store.load({"other": "x", "AWSALBAuthNonce": "abc"}, NAME, BINDING) is None

    async def test_another_cookie_name_is_no_session(self, store: SessionStore,
                                                     clock: FakeClock) -> None:
        jar = await self._saved(store, make_session(), clock)
        assert await store.load(jar, "OtherCookie", BINDING) is None

    async def test_a_cookie_renamed_to_another_name_is_invalid(self, store: SessionStore,
                                                               clock: FakeClock) -> None:
        jar = await self._saved(store, make_session(), clock)
        renamed = {k.replace(NAME, "OtherCookie"): v for k, v in jar.items()}
        with pytest.raises(SessionInvalid):
            await store.load(renamed, "OtherCookie", BINDING)

    async def test_another_rules_binding_is_invalid(self, store: SessionStore,
                                                    clock: FakeClock) -> None:
        jar = await self._saved(store, make_session(), clock)
        with pytest.raises(SessionInvalid):
            await store.load(jar, NAME, OTHER_BINDING)

    async def test_rules_sharing_name_issuer_and_client_share_the_session(
            self, store: SessionStore, clock: FakeClock) -> None:
        jar = await self._saved(store, make_session(), clock)
        assert await store.load(jar, NAME, binding_for(NAME, ISSUER, "app")) is not None

    # --- damage -------------------------------------------------------------------------

    async def test_one_tampered_byte_is_invalid(self, store: SessionStore,
                                                clock: FakeClock) -> None:
        jar = await self._saved(store, make_session(), clock)
        value = jar[f"{NAME}-0"]
        for at in (0, len(value) // 2, len(value.rstrip("=")) - 2):
            with pytest.raises(SessionInvalid):
                await store.load({**jar, f"{NAME}-0": _tamper(value, at)}, NAME, BINDING)

    async def test_truncated_is_invalid(self, store: SessionStore, clock: FakeClock) -> None:
        jar = await self._saved(store, make_session(), clock)
        value = jar[f"{NAME}-0"]
        for cut in (value[:-4], value[: len(value) // 2], value[:8], ""):
            with pytest.raises(SessionInvalid):
                await store.load({**jar, f"{NAME}-0": cut}, NAME, BINDING)

    @pytest.mark.parametrize("garbage", [
        "not base64!", "%2BAAA", "AAA", "====", "é", "AAAA" * 20,
        base64.b64encode(b"\x01" + bytes(60)).decode(),
    ])
    async def test_garbage_is_invalid(self, store: SessionStore, garbage: str) -> None:
        with pytest.raises(SessionInvalid):
            await store.load({f"{NAME}-0": garbage}, NAME, BINDING)

    @settings(max_examples=60, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(values=st.lists(st.one_of(st.text(max_size=80),
                                     st.text(string.ascii_letters + string.digits + "+/=",
                                             max_size=400)),
                           min_size=1, max_size=4))
    async def test_arbitrary_cookies_are_none_or_invalid(self, store: SessionStore,
                                                         values: list[str]) -> None:
        cookies = {f"{NAME}-{i}": v for i, v in enumerate(values)}
        try:
            assert await store.load(cookies, NAME, BINDING) is None
        except SessionInvalid:
            pass

    @settings(max_examples=60, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(data=st.data())
    async def test_mutated_cookies_never_yield_another_session(
            self, store: SessionStore, clock: FakeClock, data: st.DataObject) -> None:
        session = make_session(access_token="a.b.c", refresh_token=None)
        jar = await self._saved(store, session, clock)
        value = jar[f"{NAME}-0"]
        # Draw independently of the (store-dependent) value length: keeps examples replayable.
        at = data.draw(st.integers(0, 4095)) % len(value)
        new = data.draw(st.sampled_from(string.ascii_letters + string.digits + "+/=-_ "))
        try:
            loaded = await store.load({f"{NAME}-0": value[:at] + new + value[at + 1:]},
                                      NAME, BINDING)
        except SessionInvalid:
            return
        # Only a change to unused trailing base64 bits can leave the bytes intact.
        assert loaded == session

    # --- shards -------------------------------------------------------------------------

    async def test_set_cookie_lines_are_alb_shaped(self, store: SessionStore,
                                                   clock: FakeClock) -> None:
        headers = await store.save(make_session(access_token_size=9000), NAME, {}, POLICY,
                                   clock())
        assert 1 <= len(headers) <= 4
        for i, (name, value, attrs) in enumerate(cookie_pairs(headers)):
            assert name == f"{NAME}-{i}"
            assert len(f"Set-Cookie: {headers[i]}") <= MAX_SET_COOKIE_LINE
            assert all(c in string.ascii_letters + string.digits + "+/=" for c in value)
            for attr in ("Path=/", "Secure", "HttpOnly", "Max-Age=604800"):
                assert f"; {attr}" in f";{attrs}"

    async def test_dropping_a_middle_shard_is_invalid(self, store: SessionStore,
                                                      clock: FakeClock) -> None:
        jar = await self._saved(store, make_session(access_token_size=9000), clock)
        if f"{NAME}-1" not in jar:
            pytest.skip("this store's cookie is a single shard")
        del jar[f"{NAME}-1"]
        with pytest.raises(SessionInvalid):
            await store.load(jar, NAME, BINDING)

    async def test_missing_first_shard_is_no_session(self, store: SessionStore,
                                                     clock: FakeClock) -> None:
        jar = await self._saved(store, make_session(access_token_size=9000), clock)
        del jar[f"{NAME}-0"]
        jar[f"{NAME}-1"] = jar.get(f"{NAME}-1", "AAAA")
        assert await store.load(jar, NAME, BINDING) is None

    async def test_resaving_a_smaller_session_expires_stale_shards(
            self, store: SessionStore, clock: FakeClock) -> None:
        big = make_session(access_token_size=9000)
        jar = await self._saved(store, big, clock)
        # Shards from an older, bigger cookie (another store, another version) count too.
        jar.update({f"{NAME}-{i}": "AAAA" for i in range(1, 4) if f"{NAME}-{i}" not in jar})
        small = replace(big, access_token="short", refresh_token=None)
        headers = await store.save(small, NAME, jar, POLICY, clock())
        after = apply(jar, headers)
        kept = [n for n, _, attrs in cookie_pairs(headers) if "Max-Age=0" not in attrs]
        assert sorted(after) == sorted(kept)
        assert {n for n, _, attrs in cookie_pairs(headers) if "Max-Age=0" in attrs} == (
            set(jar) - set(kept))
        assert await store.load(after, NAME, BINDING) == small

    async def test_resave_replaces_the_session(self, store: SessionStore,
                                               clock: FakeClock) -> None:
        first = make_session()
        jar = await self._saved(store, first, clock)
        clock.advance(3600)
        refreshed = replace(first, access_token="new-token",
                            access_token_expires_at=clock() + 3600)
        jar = await self._saved(store, refreshed, clock, jar)
        assert await store.load(jar, NAME, BINDING) == refreshed

    async def test_sessions_do_not_mix(self, store: SessionStore, clock: FakeClock) -> None:
        a, b = make_session(), make_session(claims={"sub": "bob"})
        jar_a = await self._saved(store, a, clock)
        jar_b = await self._saved(store, b, clock)
        assert await store.load(jar_a, NAME, BINDING) == a
        assert await store.load(jar_b, NAME, BINDING) == b

    # --- time and revocation --------------------------------------------------------------

    async def test_an_expired_session_still_loads(self, store: SessionStore,
                                                  clock: FakeClock) -> None:
        # The caller, not the store, judges expiry (ALB answers it differently from none).
        session = make_session(expires_at=clock() + 60)
        jar = await self._saved(store, session, clock)
        clock.advance(3 * 86400)
        assert await store.load(jar, NAME, BINDING) == session

    async def test_delete_then_load(self, store: SessionStore, store_case: StoreCase,
                                    clock: FakeClock) -> None:
        session = make_session()
        jar = await self._saved(store, session, clock)
        await store.delete(session)
        if store_case.server_side:
            with pytest.raises(SessionInvalid):
                await store.load(jar, NAME, BINDING)
        else:
            # Like ALB: the cookie is the session; a copy outlives a logout (spec 3.2).
            assert await store.load(jar, NAME, BINDING) == session

    async def test_delete_of_an_unknown_session_is_harmless(self, store: SessionStore,
                                                            clock: FakeClock) -> None:
        kept = make_session()
        jar = await self._saved(store, kept, clock)
        await store.delete(make_session())
        assert await store.load(jar, NAME, BINDING) == kept

    async def test_revoke_by_user_ends_only_that_users_sessions(
            self, store: SessionStore, store_case: StoreCase, clock: FakeClock) -> None:
        alice, alice_2, bob = make_session(), make_session(), make_session(claims={"sub": "bob"})
        jars = [await self._saved(store, s, clock) for s in (alice, alice_2, bob)]
        if not store_case.server_side:
            with pytest.raises(RevocationUnsupported):
                await store.revoke(sub=alice.sub)
            return
        assert await store.revoke(sub=alice.sub) == 2
        for jar in jars[:2]:
            with pytest.raises(SessionInvalid):
                await store.load(jar, NAME, BINDING)
        assert await store.load(jars[2], NAME, BINDING) == bob
        assert await store.revoke(sub=alice.sub) == 0

    async def test_revoke_within_a_binding_spares_other_bindings(
            self, store: SessionStore, store_case: StoreCase, clock: FakeClock) -> None:
        if not store_case.server_side:
            pytest.skip("the cookie store keeps nothing to revoke (tested above)")
        mine, theirs = make_session(), make_session(binding=OTHER_BINDING)
        await self._saved(store, mine, clock)
        jar = await self._saved(store, theirs, clock)
        assert await store.revoke(binding=BINDING, sub=mine.sub) == 1
        assert await store.load(jar, NAME, OTHER_BINDING) == theirs

    async def test_revoke_by_provider_session_and_by_sid(
            self, store: SessionStore, store_case: StoreCase, clock: FakeClock) -> None:
        if not store_case.server_side:
            pytest.skip("the cookie store keeps nothing to revoke (tested above)")
        a, b = make_session(idp_sid="idp-a"), make_session(idp_sid="idp-b")
        await self._saved(store, a, clock)
        jar_b = await self._saved(store, b, clock)
        assert await store.revoke(idp_sid="idp-a") == 1
        assert await store.revoke(sub=b.sub, idp_sid="idp-a") == 0  # both must match
        assert await store.load(jar_b, NAME, BINDING) == b
        assert await store.revoke(sid=b.sid) == 1

    async def test_a_resave_after_a_revoke_does_not_bring_the_session_back(
            self, store: SessionStore, store_case: StoreCase, clock: FakeClock) -> None:
        # A refresh in flight while the session is revoked must not resurrect it.
        session = make_session()
        jar = await self._saved(store, session, clock)
        await store.delete(session)
        refreshed = replace(session, access_token="new-token")
        headers = await store.save(refreshed, NAME, jar, POLICY, clock())
        after = apply(jar, headers)
        if store_case.server_side:
            assert all("Max-Age=0" in attrs for _, _, attrs in cookie_pairs(headers))
            assert await store.load(after, NAME, BINDING) is None
            with pytest.raises(SessionInvalid):
                await store.load(jar, NAME, BINDING)
        else:
            assert await store.load(after, NAME, BINDING) == refreshed
