"""Many replicas, one login: the callback may land on any replica, a refresh happens once
across all of them, and every replica signs with keys that every replica serves."""
# ruff: noqa: F811  (the tests/alb fixtures are imported, then named as parameters)

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest
import redis

from albauth.auth.oidc_client import OidcClient, TokenSet
from albauth.clock import FakeClock
from albauth.devidp import DevIdP
from albauth.signing.albjwt import peek_header, verify_alb_jwt
from albauth.signing.shared_keys import SharedKeyRing, rotate
from tests.alb.conftest import (  # noqa: F401  (fixtures)
    Alb,
    StartAlb,
    Upstream,
    clock,
    header,
    idp,
    required_header,
    start_alb,
    tls_files,
    upstream,
)
from tests.redis.replicas import (
    ACCESS_TTL,
    assert_forwarded_with_identity,
    share_cookies,
    start_replica,
)
from tests.session.redis_fixtures import RedisServer


async def test_the_callback_may_land_on_another_replica_than_the_redirect(
        start_alb: StartAlb, upstream: Upstream, redis_server: RedisServer) -> None:
    a = await start_replica(start_alb, redis_server)
    b = await start_replica(start_alb, redis_server)
    first = await a.browser.get("https://app.test/deep/link?x=1")
    assert first.status == 302
    callback = await a.browser.sign_in(first.location)
    share_cookies(a, b)  # the AWSALBAuthNonce cookie set by A
    done = await b.browser.get(callback)
    assert done.status == 302, done.body
    assert done.location.endswith("/deep/link?x=1")
    page = await b.browser.get("https://app.test/deep/link?x=1")
    assert page.status == 200
    assert_forwarded_with_identity(upstream.last)
    share_cookies(b, a)
    assert (await a.browser.get("https://app.test/also-on-a")).status == 200


@pytest.fixture
def slow_refresh(monkeypatch: pytest.MonkeyPatch) -> None:
    """A provider that takes 300 ms to refresh: every request of the burst, on either
    replica, arrives while the first refresh is still in flight."""
    refresh = OidcClient.refresh

    async def slow(self: OidcClient, refresh_token: str) -> TokenSet:
        await asyncio.sleep(0.3)
        return await refresh(self, refresh_token)

    monkeypatch.setattr(OidcClient, "refresh", slow)


async def test_twenty_requests_on_an_expired_token_across_two_replicas_refresh_once(
        start_alb: StartAlb, idp: DevIdP, upstream: Upstream, clock: FakeClock, redis_server: RedisServer,
        slow_refresh: None) -> None:
    a = await start_replica(start_alb, redis_server)
    b = await start_replica(start_alb, redis_server)
    await a.browser.login()
    old_token = header(upstream.last, "x-amzn-oidc-accesstoken")
    share_cookies(a, b)
    assert (await b.browser.get("https://app.test/warm-up")).status == 200
    clock.advance(ACCESS_TTL + 1)
    replies = await asyncio.gather(*(
        (a if i % 2 else b).browser.get(f"https://app.test/p{i}") for i in range(20)))
    assert [r.status for r in replies] == [200] * 20
    assert idp.count("token", "refresh_token") == 1
    refreshed_by = [alb.metrics.value("ELBAuthRefreshTokenSuccess") for alb in (a, b)]
    assert sorted(refreshed_by) == [0, 1]  # one replica refreshed, the other waited for it
    tokens = {header(r, "x-amzn-oidc-accesstoken") for r in upstream.seen[-20:]}
    assert len(tokens) == 1 and old_token not in tokens
    for record in upstream.seen[-20:]:
        assert_forwarded_with_identity(record)
    # Both replicas carry on with the refreshed session, with no further refresh.
    for alb in (a, b):
        assert (await alb.browser.get("https://app.test/after")).status == 200
    assert idp.count("token", "refresh_token") == 1


async def test_a_replica_waiting_for_a_failed_refresh_goes_back_to_the_provider(
        start_alb: StartAlb, idp: DevIdP, clock: FakeClock, redis_server: RedisServer, slow_refresh: None) -> None:
    a = await start_replica(start_alb, redis_server)
    b = await start_replica(start_alb, redis_server)
    await a.browser.login()
    share_cookies(a, b)
    assert (await b.browser.get("https://app.test/warm-up")).status == 200
    idp.revoke_refresh_tokens()
    clock.advance(ACCESS_TTL + 1)
    replies = await asyncio.gather(a.browser.get("https://app.test/a"),
                                   b.browser.get("https://app.test/b"))
    assert [r.status for r in replies] == [302, 302]
    assert all(r.location.startswith(f"{idp.settings.issuer}/authorize?") for r in replies)
    assert idp.count("token", "refresh_token") == 1  # the waiter did not try again


async def kid_of_data_header(record: dict[str, Any]) -> str:
    return str(peek_header(required_header(record, "x-amzn-oidc-data"))["kid"])


def shared_keyring(alb: Alb) -> SharedKeyRing:
    """The key ring of a replica started without a key file: it lives in Redis."""
    keyring = alb.runtime.keyring
    assert isinstance(keyring, SharedKeyRing), keyring
    return keyring


async def public_key(admin: str, kid: str) -> tuple[int, bytes]:
    async with aiohttp.ClientSession() as http, http.get(f"{admin}/{kid}") as resp:
        return resp.status, await resp.read()


async def test_replicas_without_a_key_file_sign_with_one_shared_key(
        start_alb: StartAlb, upstream: Upstream, redis_server: RedisServer) -> None:
    a = await start_replica(start_alb, redis_server, shared_keys=True)
    b = await start_replica(start_alb, redis_server, shared_keys=True)
    await a.browser.login()
    data_a = required_header(upstream.last, "x-amzn-oidc-data")
    share_cookies(a, b)
    assert (await b.browser.get("https://app.test/b")).status == 200
    data_b = required_header(upstream.last, "x-amzn-oidc-data")
    kid = peek_header(data_a)["kid"]
    assert peek_header(data_b)["kid"] == kid
    assert shared_keyring(a).kids == shared_keyring(b).kids == [kid]
    for alb, token in ((a, data_b), (b, data_a)):  # each serves the key of the other's tokens
        status, pem = await public_key(alb.admin, kid)
        assert status == 200
        verify_alb_jwt(token, pem)


async def test_a_redis_dump_holds_no_signing_key_in_clear(start_alb: StartAlb, upstream: Upstream,
                                                          redis_server: RedisServer) -> None:
    a = await start_replica(start_alb, redis_server, shared_keys=True)
    await shared_keyring(a).ready()
    await a.browser.login()
    private = shared_keyring(a).current.private_pem()
    body = b"".join(private.splitlines()[1:-1])
    with redis.Redis(port=redis_server.port) as direct:
        assert direct.hlen("albauth:signing-keys") == 1
        dump = b"".join(direct.dump(k) or b"" for k in direct.keys("*"))
    assert b"PRIVATE KEY" not in dump
    assert body[:40] not in dump
    assert private not in dump


async def test_a_replica_started_later_picks_the_ring_up(start_alb: StartAlb, redis_server: RedisServer) -> None:
    a = await start_replica(start_alb, redis_server, shared_keys=True)
    ring = await shared_keyring(a).ready()
    later = await start_replica(start_alb, redis_server, shared_keys=True)
    assert (await shared_keyring(later).ready()).current.kid == ring.current.kid


async def test_after_a_rotation_both_replicas_sign_with_the_new_key_and_serve_the_old(
        start_alb: StartAlb, upstream: Upstream, clock: FakeClock, redis_server: RedisServer) -> None:
    a = await start_replica(start_alb, redis_server, shared_keys=True)
    b = await start_replica(start_alb, redis_server, shared_keys=True)
    await a.browser.login()
    share_cookies(a, b)
    old = await kid_of_data_header(upstream.last)
    keys = shared_keyring(a)
    new, _, _ = await rotate(keys.store, keys.sealer, delay=0)
    clock.advance(31)  # past the reuse of A's signed header (signing.reuse_seconds)
    for alb in (a, b):
        await shared_keyring(alb).load()  # what the periodic refresh does
        assert (await alb.browser.get("https://app.test/rotated")).status == 200
        assert await kid_of_data_header(upstream.last) == new
        assert (await public_key(alb.admin, old))[0] == 200
