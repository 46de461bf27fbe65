"""Single-flight token refresh (spec 4): N concurrent requests on one session whose access
token has expired cause one refresh at the provider; the others wait for its result.

Two layers. In this process, `SingleFlightRefresher` turns N concurrent requests into one
call of its coordinator. Across processes, the coordinator is a strategy chosen by store
(albauth.auth.setup): `LocalRefresh` simply refreshes (the memory store lives in one
process; the cookie store shares nothing, as with ALB), `RedisRefresh` takes a lock in
Redis so that one replica refreshes and saves while the others wait for its result in the
store. Browsers keep sending the old cookie until the refreshed one arrives, so a
finished refresh is remembered briefly under the access token it replaced."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol

from albauth.auth.errors import IdPError
from albauth.clock import Clock
from albauth.session.model import Session

if TYPE_CHECKING:
    from albauth.session.redis_store import RedisSessionStore

__all__ = ["LocalRefresh", "RedisRefresh", "RefreshCoordinator", "RefreshNotShared",
           "SingleFlightRefresher"]

log = logging.getLogger("albauth.auth")

RefreshFn = Callable[[Session], Awaitable[Session]]
ReloadFn = Callable[[], Awaitable[Session | None]]
PersistFn = Callable[[Session], Awaitable[Any]]
_REMEMBER_SECONDS = 30.0


class RefreshNotShared(IdPError):
    """Another replica held the refresh lock and no refreshed session reached the store in
    time (its refresh failed or it died): like any failed refresh, back to the provider."""


class RefreshCoordinator(Protocol):
    async def run(self, session: Session, do_refresh: RefreshFn, reload: ReloadFn,
                  persist: PersistFn) -> Session:
        """The refreshed session. `reload` reads the session from the store again,
        `persist` writes a refreshed one there (before any waiter is told)."""
        ...


class LocalRefresh:
    """One process owns the session (memory store) or nothing is shared (cookie store)."""

    async def run(self, session: Session, do_refresh: RefreshFn, reload: ReloadFn,
                  persist: PersistFn) -> Session:
        return await do_refresh(session)


class SingleFlightRefresher:
    def __init__(self, clock: Clock, coordinator: RefreshCoordinator | None = None) -> None:
        self.clock = clock
        self.coordinator: RefreshCoordinator = coordinator or LocalRefresh()
        self._inflight: dict[tuple[str, str], asyncio.Future[Session]] = {}
        self._recent: dict[tuple[str, str], tuple[float, Session]] = {}

    async def refresh(self, session: Session, do_refresh: RefreshFn, *,
                      reload: ReloadFn | None = None, persist: PersistFn | None = None) -> Session:
        key = (session.sid, session.access_token)
        now = self.clock()
        recent = self._recent.get(key)
        if recent is not None and now - recent[0] < _REMEMBER_SECONDS:
            return recent[1]
        pending = self._inflight.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[Session] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            if reload is None or persist is None:
                refreshed = await do_refresh(session)
            else:
                refreshed = await self.coordinator.run(session, do_refresh, reload, persist)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # consumed here; waiters re-raise their own copy
            raise
        else:
            future.set_result(refreshed)
            self._remember(key, refreshed, now)
            return refreshed
        finally:
            del self._inflight[key]

    def _remember(self, key: tuple[str, str], session: Session, now: float) -> None:
        if len(self._recent) > 10_000:
            self._recent = {k: v for k, v in self._recent.items() if now - v[0] < _REMEMBER_SECONDS}
        self._recent[key] = (now, session)


# Delete the lock only if it is still ours: after a refresh slower than the lock's expiry,
# another replica may hold it by now.
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


class RedisRefresh:
    """One refresh per session across every replica sharing the Redis store.

    `SET <prefix>refresh:<sid> <token> NX PX <lock_ttl>`: the winner re-reads the session
    (a replica may have finished a refresh between our load and the lock), refreshes,
    saves, then releases the lock if it still owns it. The others poll the store with a
    short backoff until the session carries a new access token (same ticket, same sid),
    for at most `wait` seconds; a lock that vanishes without a result means the winner's
    refresh failed, and so has theirs (RefreshNotShared: back to the provider)."""

    def __init__(self, store: RedisSessionStore, *, lock_ttl: float, wait: float | None = None,
                 first_poll: float = 0.02, max_poll: float = 0.25) -> None:
        self.store = store
        self.lock_ttl = lock_ttl
        self.wait = lock_ttl if wait is None else wait
        self.first_poll = first_poll
        self.max_poll = max_poll

    def lock_key(self, sid: str) -> str:
        return f"{self.store.key_prefix}refresh:{sid}"

    async def run(self, session: Session, do_refresh: RefreshFn, reload: ReloadFn,
                  persist: PersistFn) -> Session:
        key, token = self.lock_key(session.sid), secrets.token_urlsafe(16)
        won = await self._command(lambda r: r.set(key, token, nx=True,
                                                  px=max(1, int(self.lock_ttl * 1000))))
        if not won:
            return await self._wait_for_winner(session, key, reload)
        try:
            current = await reload() or session
            if current.access_token != session.access_token:
                return current  # refreshed by another replica just before we got the lock
            refreshed = await do_refresh(current)
            await persist(refreshed)
            return refreshed
        finally:
            try:
                await self._command(lambda r: r.eval(_RELEASE, 1, key, token))
            except Exception:  # the lock expires by itself
                log.warning("could not release refresh lock %s", key)

    async def _wait_for_winner(self, session: Session, key: str, reload: ReloadFn) -> Session:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.wait
        delay = self.first_poll
        while True:
            await asyncio.sleep(delay)
            current = await reload()
            if current is not None and current.access_token != session.access_token:
                return current
            if not await self._command(lambda r: r.exists(key)):
                # Gone: saved just now (read once more), or the winner gave up.
                current = await reload()
                if current is not None and current.access_token != session.access_token:
                    return current
                raise RefreshNotShared("the replica that held the refresh lock produced no session")
            if loop.time() >= deadline:
                raise RefreshNotShared("no refreshed session within the IdP timeout")
            delay = min(delay * 1.5, self.max_poll)

    async def _command(self, fn: Callable[[Any], Awaitable[Any]]) -> Any:
        # Through the store's pool and its failure mapping (SessionStoreUnavailable).
        return await self.store.execute(fn)
