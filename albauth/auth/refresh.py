"""Single-flight token refresh (spec 4): N concurrent requests on one session whose access
token has expired cause one refresh at the provider; the others wait for its result.

Two layers. In this process, `SingleFlightRefresher` turns N concurrent requests into one
call of its coordinator, whose `RefreshOutcome` they all share. Across processes, the
coordinator is a strategy chosen by store (albauth.auth.setup): `LocalRefresh` simply
refreshes (the memory store lives in one process; the cookie store shares nothing, as with
ALB), `RedisRefresh` takes a lock in Redis so that one replica refreshes and saves while
the others wait for its result in the store.

Whoever refreshes saves, once (`persist`); nobody else saves the result again. Browsers
keep sending the old cookie until the refreshed one arrives, so a finished refresh is
remembered briefly under the access token it replaced."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from cachetools import TTLCache

from albauth.auth.errors import IdPError
from albauth.auth.refresh_notices import PubSubSource, RefreshNotices
from albauth.clock import Clock
from albauth.ops.log_throttle import LogThrottle
from albauth.session.errors import SessionStoreUnavailable
from albauth.session.model import Session

__all__ = ["LocalRefresh", "PersistFn", "RedisRefresh", "RefreshCoordinator", "RefreshNotShared",
           "RefreshOutcome", "RefreshStore", "SingleFlightRefresher", "persist_refreshed"]

log = logging.getLogger("albauth.auth")
T = TypeVar("T")


@dataclass(frozen=True)
class RefreshOutcome:
    session: Session
    # Set-Cookie lines from the one save; () for a waiter whose winner ran in another
    # replica (same ticket, nothing to re-issue) or when no save went through.
    set_cookies: tuple[str, ...] = ()


RefreshFn = Callable[[Session], Awaitable[Session]]
ReloadFn = Callable[[], Awaitable[Session | None]]
PersistFn = Callable[[Session], Awaitable[list[str]]]  # saves; returns Set-Cookie lines

_REMEMBER_SECONDS = 30.0
_REMEMBER_MAX = 10_000
# A save that fails on a store error is tried again after these delays (3 tries within
# ~1 s): a Redis failover or a short pause must not lose tokens the provider has issued.
_SAVE_RETRY_DELAYS = (0.1, 0.3)


class RefreshNotShared(IdPError):
    """Another replica held the refresh lock and no refreshed session reached the store in
    time (its refresh failed or it died): like any failed refresh, back to the provider."""


class RefreshCoordinator(Protocol):
    async def run(self, session: Session, do_refresh: RefreshFn, reload: ReloadFn,
                  persist: PersistFn) -> RefreshOutcome:
        """The refreshed session. `reload` reads the session from the store again;
        `persist` writes a refreshed one there, called once, by whoever refreshed."""
        ...

    async def close(self) -> None: ...


async def persist_refreshed(refreshed: Session, persist: PersistFn,
                            failures: LogThrottle) -> RefreshOutcome:
    """Save once, retrying store errors briefly. The provider has answered, and may have
    rotated the refresh token (the old one is then dead): if no save goes through, the
    refreshed session still serves this request (and its in-process waiters) rather than
    being dropped. Only a store that did not answer is worth another try; anything else
    (SessionTooLarge) propagates."""
    for delay in (*_SAVE_RETRY_DELAYS, None):
        try:
            return RefreshOutcome(refreshed, tuple(await persist(refreshed)))
        except SessionStoreUnavailable as exc:
            if delay is None:
                failures.failure("refreshed session not saved: used for this request only", exc,
                                 level=logging.WARNING)
                break
            await asyncio.sleep(delay)
    return RefreshOutcome(refreshed, ())


class LocalRefresh:
    """One process owns the session (memory store) or nothing is shared (cookie store)."""

    def __init__(self) -> None:
        self.failures = LogThrottle(log)

    async def run(self, session: Session, do_refresh: RefreshFn, reload: ReloadFn,
                  persist: PersistFn) -> RefreshOutcome:
        return await persist_refreshed(await do_refresh(session), persist, self.failures)

    async def close(self) -> None:
        pass


class SingleFlightRefresher:
    def __init__(self, clock: Clock, coordinator: RefreshCoordinator | None = None) -> None:
        self.clock = clock
        self.coordinator: RefreshCoordinator = coordinator or LocalRefresh()
        self._inflight: dict[tuple[str, str], asyncio.Future[RefreshOutcome]] = {}
        # Bounded by age, not only by count: keyed by access token, an entry per refresh
        # piled up for good under a count cap alone.
        self._recent: TTLCache[tuple[str, str], RefreshOutcome] = TTLCache(
            _REMEMBER_MAX, _REMEMBER_SECONDS, timer=clock)

    async def refresh(self, session: Session, do_refresh: RefreshFn, *, reload: ReloadFn,
                      persist: PersistFn) -> RefreshOutcome:
        key = (session.sid, session.access_token)
        recent = self._recent.get(key)
        if recent is not None:
            return recent
        pending = self._inflight.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[RefreshOutcome] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            outcome = await self.coordinator.run(session, do_refresh, reload, persist)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # consumed here; waiters re-raise their own copy
            raise
        else:
            future.set_result(outcome)
            self._recent[key] = outcome
            return outcome
        finally:
            del self._inflight[key]

    def remembered(self) -> int:
        """Finished refreshes still remembered (expired ones dropped first)."""
        self._recent.expire()
        return len(self._recent)

    async def close(self) -> None:
        await self.coordinator.close()


class RefreshStore(PubSubSource, Protocol):
    """What `RedisRefresh` needs of the Redis session store: its key prefix, its pool with
    its failure mapping (Redis errors become SessionStoreUnavailable), and pub/sub."""

    key_prefix: str

    async def execute(self, command: Callable[[Any], Awaitable[T]]) -> T: ...


# The lock holds its owner's token while a refresh runs, and `failed` for a moment after the
# provider refused one: the waiters then go back to the provider too (ALB: a failed refresh
# re-authenticates) instead of each trying the dead refresh token again.
_FAILED = b"failed"
# Delete (or mark failed) the lock only if it is still ours: after a lost lease another
# replica may hold it by now. Then tell the waiters, in the same round trip.
_FINISH = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  if ARGV[3] == '1' then redis.call('set', KEYS[1], 'failed', 'PX', ARGV[4])
  else redis.call('del', KEYS[1]) end
end
return redis.call('publish', ARGV[2], ARGV[5])
"""
_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end
return 0
"""


class RedisRefresh:
    """One refresh per session across every replica sharing the Redis store.

    `SET <prefix>refresh:<sid> <token> NX PX <lease>`: the winner renews the short lease
    while it works (so a replica that dies mid-refresh blocks the session for a lease, not
    for the whole refresh timeout), re-reads the session (a replica may have finished a
    refresh between our load and the lock), refreshes, saves, then releases the lock and
    publishes the sid on `<prefix>refresh-done`. The others wait on that notice (one wait
    per session and process, with a slow fallback poll), then read the store once: a new
    access token there is their result; a lock gone without one means its holder died, and
    they contend for it again; a lock marked failed sends them back to the provider
    (RefreshNotShared), as does `wait` running out with nothing new in the store."""

    def __init__(self, store: RefreshStore, *, wait: float, lease: float = 2.0,
                 poll: float = 1.0) -> None:
        self.store = store
        self.wait = wait
        self.lease = lease
        self.poll = poll
        self.channel = f"{store.key_prefix}refresh-done"
        self.notices = RefreshNotices(store, self.channel)
        self.failures = LogThrottle(log)

    def lock_key(self, sid: str) -> str:
        return f"{self.store.key_prefix}refresh:{sid}"

    async def run(self, session: Session, do_refresh: RefreshFn, reload: ReloadFn,
                  persist: PersistFn) -> RefreshOutcome:
        deadline = asyncio.get_running_loop().time() + self.wait
        key, lease_ms = self.lock_key(session.sid), max(1, int(self.lease * 1000))
        token = secrets.token_urlsafe(16)
        while True:
            if await self.store.execute(lambda r: r.set(key, token, nx=True, px=lease_ms)):
                return await self._refresh_holding(session, key, token, do_refresh, reload, persist)
            outcome = await self._wait_for_winner(session, key, reload, deadline)
            if outcome is not None:
                return outcome
            # The lock lapsed with nothing saved: its holder died. Someone must refresh.

    async def close(self) -> None:
        await self.notices.close()

    async def _refresh_holding(self, session: Session, key: str, token: str, do_refresh: RefreshFn,
                               reload: ReloadFn, persist: PersistFn) -> RefreshOutcome:
        done = asyncio.Event()
        renewal = asyncio.create_task(self._renew(key, token, done))
        failed = False
        try:
            current = await reload() or session
            if current.access_token != session.access_token:
                return RefreshOutcome(current)  # refreshed by another replica just before we locked
            try:
                refreshed = await do_refresh(current)
            except IdPError:
                failed = True
                raise
            return await persist_refreshed(refreshed, persist, self.failures)
        finally:
            done.set()  # also ends a renewal whose cancellation was lost (see _renew)
            renewal.cancel()
            await asyncio.gather(renewal, return_exceptions=True)  # its own cancellation, not ours
            await self._finish(key, token, session.sid, failed)

    async def _renew(self, key: str, token: str, done: asyncio.Event) -> None:
        # Stops on `done`, not only on cancel: on Python 3.11 a cancel that arrives as
        # redis-py's asyncio.wait_for completes is lost (CPython gh-86296), and this loop
        # then renewed the lock for good while its request hung in `gather` (soak, issue 14).
        lease_ms = max(1, int(self.lease * 1000))
        while not done.is_set():
            await asyncio.sleep(self.lease / 3)
            if done.is_set():
                return
            try:
                await self.store.execute(lambda r: r.eval(_RENEW, 1, key, token, lease_ms))
            except Exception as exc:  # the next renewal may get through; else the lease lapses
                self.failures.failure("could not renew a refresh lock", exc, level=logging.WARNING)

    async def _finish(self, key: str, token: str, sid: str, failed: bool) -> None:
        mark_ms = max(1, int(self.lease * 1000))
        try:
            await self.store.execute(lambda r: r.eval(_FINISH, 1, key, token, self.channel,
                                                      "1" if failed else "0", mark_ms, sid))
        except Exception as exc:  # the lease lapses by itself; waiters poll meanwhile
            self.failures.failure("could not release a refresh lock", exc, level=logging.WARNING)

    async def _wait_for_winner(self, session: Session, key: str, reload: ReloadFn,
                               deadline: float) -> RefreshOutcome | None:
        """The winner's result; None when the lock lapsed without one (contend again)."""
        loop = asyncio.get_running_loop()
        with self.notices.watch(session.sid) as woken:
            while True:
                woken.clear()
                holder = await self.store.execute(lambda r: r.get(key))
                if holder is None or holder == _FAILED:
                    current = await reload()
                    if current is not None and current.access_token != session.access_token:
                        return RefreshOutcome(current)
                    if holder == _FAILED:
                        raise RefreshNotShared("the replica that refreshed this session was refused")
                    return None
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return await self._last_look(session, reload)
                try:
                    async with asyncio.timeout(min(self.poll, remaining)):
                        await woken.wait()
                except TimeoutError:
                    pass

    async def _last_look(self, session: Session, reload: ReloadFn) -> RefreshOutcome:
        # Out of time with the lock still held: the store may hold the result all the same.
        current = await reload()
        if current is not None and current.access_token != session.access_token:
            return RefreshOutcome(current)
        raise RefreshNotShared("no refreshed session within the IdP timeout")
