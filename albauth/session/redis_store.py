"""Sessions in Redis, shared by every replica; the browser keeps only a ticket
(albauth.session.ticket). The stored format is albauth.session.redis_value, the key layout
and indexes albauth.session.redis_index, URL forms and connection options
albauth.session.redis_connect.

TTL. An entry lives the time left until `expires_at` (at least 1 s): Redis holds live
sessions only, and nothing with tokens outlives SessionTimeout. An ended session must
still read as ended (the action re-authenticates it even under `deny`, where an unknown
cookie is a 401, ALB spec 1.3) while the browser still presents its cookie (7 days): the
ticket carries the end (albauth.session.ticket), so a ticket past its end whose entry is
gone opens as an ended stand-in session, and one before its end as revoked. `expired_grace`
(default 0) keeps entries longer, capped at the cookie's Max-Age. The index sets get the
longest TTL of their members (EXPIRE NX, then EXPIRE GT: Redis >= 7.0), so they go with
their last member.

Cache. Opened sessions are kept in the process and served without a round trip while a
dedicated RESP3 connection tracks the session keys (albauth.session.redis_cache): any
write, delete or expiry on any replica evicts them within milliseconds; without that
connection, a GET per request. Not on Cluster (a GET per request there).

Revocation (`delete`, `revoke`) removes the entry and its index memberships. A session is
revoked for good: its re-save after a refresh that was in flight meanwhile is a SET XX,
which does not recreate it, and expires the cookie instead.

Failures. A ticket that does not open, a session that is gone, or data that does not
decrypt is `SessionInvalid` ("log in again"). Anything else from Redis (refused, timed
out, failed over, ACL errors) is `SessionStoreUnavailable`, which the action answers with
503: fail closed, never forward. redis-py reconnects by itself once Redis is back.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from redis.exceptions import RedisClusterException, RedisError

from albauth.clock import Clock, system_clock
from albauth.lru import Lru
from albauth.session.cookies import CookiePolicy, expire, replace_shards, shard_indices
from albauth.session.errors import SessionInvalid, SessionStoreUnavailable
from albauth.session.model import Session
from albauth.session.redis_cache import CacheEntry, OpenTracking, SessionCache
from albauth.session.redis_connect import (
    DEFAULT_CLIENT_CACHE,
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_TIMEOUT,
    Client,
    Connector,
    parse_redis_url,
)
from albauth.session.redis_index import RedisIndex, RedisKeys, SessionRecord
from albauth.session.redis_value import open_value, seal_value
from albauth.session.sealing import Sealer
from albauth.session.ticket import OpenedTickets, Ticket, seal_ticket

__all__ = ["DEFAULT_EXPIRED_GRACE", "RedisSessionStore", "SessionRecord", "SessionStoreUnavailable"]

DEFAULT_EXPIRED_GRACE = 0  # the ticket says when the session ended (_ended_or_gone)
# Tickets of sessions this process loaded or saved, so a re-save (after a refresh) keeps
# the secret that cookies already in flight, on this or another replica, carry, and is
# told from the first save of a new session. Kept after a delete or revoke on purpose:
# a refresh still in flight must be seen as a re-save, which never recreates an entry.
_TICKET_CACHE_SIZE = 50_000
# Sessions decrypted lately, by (ticket secret, stored bytes): the same bytes under the same
# secret always open to the same session (measured: x1.34 CPU per request, bench/FINDINGS.md).
_OPENED_CACHE_SIZE = 4096

# RedisClusterException ("cannot be connected", slots not covered) is not a RedisError.
_REDIS_ERRORS = (RedisError, RedisClusterException, OSError)
T = TypeVar("T")


@dataclass
class _Pool:
    """One event loop's client and the permits bounding its concurrent commands. Made
    together and swapped together: a permit is always released to the semaphore it was
    taken from (a replaced semaphore once gained a permit per swap, and the pool then ran
    dry with MaxConnectionsError under load)."""

    client: Client
    closers: list[Callable[[], Awaitable[None]]]
    slots: asyncio.Semaphore
    loop: asyncio.AbstractEventLoop
    cache: SessionCache | None  # None: a GET per request (Cluster, or switched off)


class RedisSessionStore:
    """A `SessionStore` on Redis. Build it with `from_url`; `connect` is the seam for
    tests and other topologies: it returns a redis.asyncio client and its closers, and
    is called once per event loop, inside it. TTLs come from the `now` handed to `save`,
    so `clock` is accepted only for parity with the other stores."""

    can_revoke = True

    def __init__(self, connect: Connector, sealer: Sealer, clock: Clock = system_clock, *,
                 key_prefix: str = "albauth:", expired_grace: int = DEFAULT_EXPIRED_GRACE,
                 cluster: bool = False, max_connections: int = DEFAULT_MAX_CONNECTIONS,
                 wait_timeout: float = DEFAULT_TIMEOUT, open_tracking: OpenTracking | None = None,
                 cache_size: int = DEFAULT_CLIENT_CACHE) -> None:
        self._connect = connect
        self._clock = clock
        self._open_tracking = open_tracking
        self._cache_size = cache_size
        self._sealer = sealer
        self.key_prefix = key_prefix
        self.keys = RedisKeys(key_prefix)
        self._grace = expired_grace
        # The session key is written atomically (SET EX) everywhere; the index updates go
        # with it in one MULTI, except on a Cluster, which cannot run MULTI across slots.
        self._transaction = not cluster
        self.index = RedisIndex(self.keys, self.execute, transaction=self._transaction)
        # redis-py's async pool raises at once when all its connections are busy; a burst
        # of requests waits for a permit instead (one per connection), but no longer than
        # a Redis command may take, so a hung Redis still fails fast.
        self._max_connections = max_connections
        self._wait_timeout = wait_timeout
        self._pool: _Pool | None = None
        self._tickets: Lru[str, Ticket] = Lru(_TICKET_CACHE_SIZE)
        self._opened: Lru[tuple[bytes, bytes], Session] = Lru(_OPENED_CACHE_SIZE)
        self._opened_tickets = OpenedTickets(sealer)

    @classmethod
    def from_url(cls, url: str, *, sealer: Sealer, clock: Clock = system_clock,
                 key_prefix: str = "albauth:", expired_grace: int = DEFAULT_EXPIRED_GRACE,
                 socket_timeout: float = DEFAULT_TIMEOUT,
                 socket_connect_timeout: float = DEFAULT_TIMEOUT) -> RedisSessionStore:
        """Parse (and so validate) the URL now; connect on first use."""
        target = parse_redis_url(url, socket_timeout, socket_connect_timeout)
        return cls(target.connect, sealer, clock, key_prefix=key_prefix,
                   expired_grace=expired_grace, cluster=target.kind == "cluster",
                   max_connections=target.max_connections, wait_timeout=target.wait_timeout,
                   open_tracking=target.open_tracking if target.client_cache > 0 else None,
                   cache_size=target.client_cache)

    # --- SessionStore ---------------------------------------------------------------------

    async def load(self, cookies: Mapping[str, str], cookie_name: str,
                   binding: str) -> Session | None:
        ticket = self._opened_tickets.open(cookies, cookie_name, binding)
        if ticket is None:
            return None
        key = self.keys.session(ticket.sid)
        cache = self._current_pool().cache
        cached = None
        if cache is not None:
            cache.start()  # on the first load: the CLI's commands and lock-only users never track
            cached = cache.get(key)
        if cached is not None and cached.secret == ticket.secret:
            session = cached.session  # Redis vouches for it: no invalidation since the GET
        else:
            session = await self._fetch(ticket, binding, key, cache)
        if session.sid != ticket.sid or session.binding != binding:
            raise SessionInvalid("session belongs to another ticket or rule binding")
        self._tickets[ticket.sid] = ticket
        return session

    async def _fetch(self, ticket: Ticket, binding: str, key: str, cache: SessionCache | None) -> Session:
        fill = cache.begin(key) if cache is not None else None
        entry: CacheEntry | None = None
        try:
            if fill is None:
                stored, pttl = await self.execute(lambda client: client.get(key)), -1
            else:
                stored, pttl = await self.execute(lambda client: _get_with_pttl(client, key))
            if not isinstance(stored, bytes):  # None: gone (no decode_responses, so bytes)
                return self._ended_or_gone(ticket, binding)
            session = self._open(ticket, stored)
            if pttl > 0:
                entry = CacheEntry(ticket.secret, session, time.monotonic() + pttl / 1000)
            return session
        finally:
            if cache is not None and fill is not None:
                cache.put(fill, entry)

    def _ended_or_gone(self, ticket: Ticket, binding: str) -> Session:
        """Redis drops a session when it ends; its ticket still says when that was, so an
        ended session is still answered as ended (a login redirect even under `deny`, as
        ALB does, spec 1.3) rather than as an unknown cookie (401)."""
        if ticket.ends_at is None or self._clock() < ticket.ends_at:
            raise SessionInvalid("no such session (revoked or dropped)")
        return Session(sid=ticket.sid, binding=binding, claims={}, access_token="",
                       refresh_token=None, access_token_expires_at=None,
                       authenticated_at=ticket.ends_at, expires_at=ticket.ends_at)

    def _open(self, ticket: Ticket, stored: bytes) -> Session:
        # Decrypting and decoding the same stored bytes again is skipped.
        opened_key = (ticket.secret, stored)
        session = self._opened.get(opened_key)
        if session is None:
            try:
                session = Session.from_bytes(open_value(ticket.secret, ticket.sid, stored))
            except ValueError as exc:
                raise SessionInvalid(str(exc)) from exc
            self._opened[opened_key] = session
        return session

    async def save(self, session: Session, cookie_name: str, cookies: Mapping[str, str],
                   policy: CookiePolicy, now: float) -> list[str]:
        known = self._tickets.get(session.sid)
        # The ticket carries the session's end, which outlives the entry (see _ended_or_gone).
        ticket = Ticket(session.sid, known.secret if known else Ticket.new(session.sid).secret,
                        session.expires_at)
        remaining = max(1, math.ceil(session.expires_at - now))
        ttl = min(remaining + self._grace, max(remaining, policy.max_age))
        indexes = [self.keys.sub(session.sub)]
        if session.idp_sid is not None:
            indexes.append(self.keys.idp_sid(session.idp_sid))
        value = seal_value(ticket.secret, session)

        async def write(client: Client) -> list[object]:
            pipe = client.pipeline(transaction=self._transaction)
            # A re-save (after a refresh) only replaces an entry that still exists: a
            # session revoked while its refresh was in flight must not come back.
            pipe.set(self.keys.session(session.sid), value, ex=ttl, xx=known is not None)
            for index in indexes:
                pipe.sadd(index, session.sid)
                pipe.expire(index, ttl, nx=True)
                pipe.expire(index, ttl, gt=True)
            return list(await pipe.execute())

        replies = await self.execute(write)
        self._forget(session.sid)
        if not replies[0]:
            return expire(cookie_name, shard_indices(cookies, cookie_name), policy)
        self._tickets[session.sid] = ticket
        return replace_shards(cookie_name, seal_ticket(self._sealer, ticket, cookie_name, session.binding),
                              cookies, policy, now)

    async def delete(self, session: Session) -> None:
        async def remove(client: Client) -> object:
            pipe = client.pipeline(transaction=self._transaction)
            pipe.delete(self.keys.session(session.sid))
            if "sub" in session.claims:  # an ended session's stand-in has no claims
                pipe.srem(self.keys.sub(session.sub), session.sid)
            if session.idp_sid is not None:
                pipe.srem(self.keys.idp_sid(session.idp_sid), session.sid)
            return await pipe.execute()

        await self.execute(remove)
        self._forget(session.sid)

    async def revoke(self, *, binding: str | None = None, sub: str | None = None,
                     idp_sid: str | None = None, sid: str | None = None) -> int:
        """Following OIDC Back-Channel Logout 1.0 section 2.4, a token with both `sub`
        and `sid` ends the sessions of that provider session."""
        if sub is None and idp_sid is None and sid is None:
            raise ValueError("revoke needs a sub, an idp_sid or a sid")
        if sub is not None or idp_sid is not None:
            sids = await self.index.sids(sub=sub, idp_sid=idp_sid)
            if sid is not None:
                sids &= {sid}
        else:
            assert sid is not None
            sids = {sid}
        if binding is not None:
            sids = {r.sid for r in await self.index.records(sids) if r.binding == binding}
        ended = await self.index.revoke_sids(sids)
        for revoked in sids:
            self._forget(revoked)
        return ended

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        self._tickets.clear()
        self._opened.clear()
        self._opened_tickets.clear()
        for close in pool.closers if pool is not None else ():
            try:
                await close()
            except (RedisError, OSError):
                pass

    # --- plumbing -------------------------------------------------------------------------

    async def execute(self, command: Callable[[Client], Awaitable[T]]) -> T:
        """Run commands on this store's pool with its failure mapping (SessionStoreUnavailable):
        also for the other shared state that lives beside the sessions (refresh locks,
        signing keys)."""
        pool = self._current_pool()
        slots = pool.slots
        if slots.locked():  # every connection busy: queue, but not for long
            try:
                async with asyncio.timeout(self._wait_timeout):
                    await slots.acquire()
            except TimeoutError as exc:
                raise SessionStoreUnavailable("Redis: every connection is busy") from exc
        else:
            await slots.acquire()  # a free slot: taken at once, no timer needed
        try:
            return await command(pool.client)
        except _REDIS_ERRORS as exc:
            raise SessionStoreUnavailable(f"Redis: {exc}") from exc
        finally:
            slots.release()

    def pubsub(self) -> tuple[Any, Callable[[], Awaitable[None]]]:
        """A redis-py PubSub on a client of its own, and that client's closer: a subscriber
        holds its connection for good, which the pool counted by `execute` must not lose
        (refresh wake-ups, albauth.auth.refresh_notices)."""
        client, closers = self._connect()

        async def close() -> None:
            for closer in closers:
                await closer()

        return client.pubsub(), close

    def _forget(self, sid: str) -> None:
        # This process wrote the key: its cached copy goes now, not when the push arrives.
        pool = self._pool
        if pool is not None and pool.cache is not None:
            pool.cache.forget(self.keys.session(sid))

    def _current_pool(self) -> _Pool:
        # One pool per event loop, created in it (redis.asyncio connections belong to the
        # loop that opened them).
        loop = asyncio.get_running_loop()
        pool = self._pool
        if pool is None or pool.loop is not loop:
            client, closers = self._connect()
            cache = None
            if self._open_tracking is not None and self._cache_size > 0:
                cache = SessionCache(self._open_tracking, self.keys.session(""), size=self._cache_size,
                                     timeout=self._wait_timeout)
                closers = [cache.close, *closers]
            pool = self._pool = _Pool(client, closers, asyncio.Semaphore(self._max_connections), loop, cache)
        return pool


async def _get_with_pttl(client: Client, key: str) -> tuple[bytes | str | None, int]:
    # The PTTL bounds the cached copy's life: an expiry's invalidation may lag behind
    # Redis's lazy expiry, the PTTL does not.
    pipe = client.pipeline(transaction=False)
    pipe.get(key)
    pipe.pttl(key)
    stored, pttl = await pipe.execute()
    return stored if isinstance(stored, (bytes, str)) else None, int(pttl)
