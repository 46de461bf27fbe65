"""Sessions this process opened, kept exact by Redis server-assisted client-side caching.

A dedicated connection speaks RESP3 and runs `CLIENT TRACKING ON BCAST PREFIX
<prefix>session:` (Redis >= 6): from then on Redis pushes an `invalidate` message for every
key under the prefix that any client writes, deletes, or that expires or is evicted
(https://redis.io/docs/latest/develop/reference/client-side-caching/), whichever replica
caused it. BCAST needs no read on the tracking connection itself, so the request path reads
through the ordinary pool and this connection only listens.

Fail closed. The cache is used only while the tracking connection is subscribed and
answering: when it drops, fails its heartbeat (a PING every `heartbeat` seconds, answered
within `timeout`), or Redis says it flushed (`invalidate` with no keys), every entry goes
and each request does its GET again until a new connection has re-subscribed. Entries
filled from a GET that started before that re-subscription are refused, since an
invalidation sent meanwhile went to a connection that no longer exists.

The race. A GET in flight while its key is invalidated may return the value from before
the write (the GET ran first, the invalidation was read second, on another socket). Each
fill therefore carries the stamp taken before its GET; the fill is refused when the key
(or everything: a flush, a reconnection) was invalidated after that stamp.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from cachetools import LRUCache
from redis.exceptions import RedisError

from albauth.session.model import Session

__all__ = ["CacheEntry", "Fill", "SessionCache", "TrackingConnection"]

log = logging.getLogger("albauth.session")

# What a tracking connection must offer: redis.asyncio.Connection (RESP3).
TrackingConnection = Any
OpenTracking = Callable[[], Awaitable[tuple[TrackingConnection, Callable[[], Awaitable[None]]]]]


@dataclass(frozen=True)
class CacheEntry:
    secret: bytes  # the ticket secret the session opened with
    session: Session
    drop_at: float  # monotonic: when Redis drops the key (its PTTL at the fill)


@dataclass(frozen=True)
class Fill:
    """Taken before a GET; `SessionCache.put` accepts the result only if nothing touched
    the key since."""

    key: str
    stamp: int
    epoch: int


class SessionCache:
    def __init__(self, open_tracking: OpenTracking, key_prefix: str, *, size: int = 10_000,
                 heartbeat: float = 1.0, timeout: float = 1.0) -> None:
        self._open = open_tracking
        self.prefix = key_prefix
        self._heartbeat = heartbeat
        self._timeout = timeout
        self._entries: LRUCache[str, CacheEntry] = LRUCache(size)
        self.live = False
        self._epoch = 0  # bumped on every flush and every (re)subscription
        self._stamp = 0  # bumped on every invalidated key
        self._inflight: dict[str, int] = {}
        self._touched: dict[str, int] = {}  # in-flight key -> stamp of its last invalidation
        self._task: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()
        self._closing = False
        #: Tests switch invalidation off to show what it protects.
        self.apply_invalidations = True

    # --- the request path -----------------------------------------------------------------

    def get(self, key: str) -> CacheEntry | None:
        if not self.live:
            return None
        entry = self._entries.get(key)
        if entry is not None and time.monotonic() >= entry.drop_at:
            self._entries.pop(key, None)  # Redis expired it; its invalidation may lag
            return None
        return entry

    def begin(self, key: str) -> Fill | None:
        """Before the GET; None while the cache is not live (the result is not kept)."""
        if not self.live:
            return None
        self._inflight[key] = self._inflight.get(key, 0) + 1
        return Fill(key, self._stamp, self._epoch)

    def put(self, fill: Fill, entry: CacheEntry | None) -> None:
        """After the GET (also when it failed: `entry` None), exactly once per `begin`."""
        key = fill.key
        left = self._inflight.get(key, 1) - 1
        touched = self._touched.get(key, -1)
        if left:
            self._inflight[key] = left
        else:
            self._inflight.pop(key, None)
            self._touched.pop(key, None)
        if entry is None or not self.live or fill.epoch != self._epoch or touched > fill.stamp:
            return
        self._entries[key] = entry

    def invalidated_in_flight(self, key: str) -> bool:
        """Whether `key` was invalidated while a GET of it is in flight (its fill is refused)."""
        return key in self._touched

    def forget(self, key: str) -> None:
        """This process wrote or deleted `key`: drop it now, before its invalidation."""
        self._invalidate_key(key)

    # --- the tracking connection ------------------------------------------------------------

    def start(self) -> None:
        """Run the tracking connection in the running loop (idempotent)."""
        if self._task is None or self._task.done():
            self._closing = False
            self._task = asyncio.get_running_loop().create_task(self._run(), name="albauth-redis-tracking")

    async def wait_subscribed(self, timeout: float) -> bool:
        try:
            async with asyncio.timeout(timeout):
                await self._subscribed.wait()
        except TimeoutError:
            return False
        return True

    async def close(self) -> None:
        task, self._task = self._task, None
        self._closing = True  # redis-py may turn the cancellation into a connection error
        self._go_dark()
        if task is not None:
            task.cancel()
            # Reading with a timeout of its own, redis-py may swallow the cancellation:
            # the loop then ends on `_closing` at its next read.
            await asyncio.wait([task], timeout=self._heartbeat + self._timeout)
            if not task.done():
                task.cancel()

    async def _run(self) -> None:
        delay = 0.05
        while not self._closing:
            close: Callable[[], Awaitable[None]] | None = None
            try:
                conn, close = await self._open()
                await self._subscribe(conn)
                delay = 0.05
                await self._listen(conn)
            except (RedisError, OSError, TimeoutError) as exc:
                log.warning("Redis invalidation connection lost (%s): a GET per request until it is back", exc)
            finally:
                self._go_dark()
                if close is not None:
                    try:
                        await close()
                    except (RedisError, OSError):
                        pass
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)

    async def _subscribe(self, conn: TrackingConnection) -> None:
        async def returned(message: Any) -> Any:
            return message

        # redis-py hands RESP3 `invalidate` pushes to this handler and, with
        # push_request=True, returns what it returns; without one they are dropped.
        conn._parser.set_invalidation_push_handler(returned)
        await conn.send_command("CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", self.prefix)
        reply = await conn.read_response(timeout=self._timeout, push_request=True)
        if reply not in (b"OK", "OK"):
            raise RedisError(f"CLIENT TRACKING refused: {reply!r}")
        self._go_live()

    async def _listen(self, conn: TrackingConnection) -> None:
        ping_sent: float | None = None
        while not self._closing:
            message = await conn.read_response(timeout=self._heartbeat, push_request=True)
            now = time.monotonic()
            if message is None:  # quiet for a heartbeat: is Redis still there?
                if ping_sent is None:
                    await conn.send_command("PING")
                    ping_sent = now
                elif now - ping_sent > self._timeout:
                    raise TimeoutError("no PONG from Redis")
                continue
            if message in (b"PONG", "PONG"):
                ping_sent = None
            elif isinstance(message, list) and message and message[0] in (b"invalidate", "invalidate"):
                self._on_invalidate(message[1] if len(message) > 1 else None)

    def _on_invalidate(self, keys: Any) -> None:
        if not self.apply_invalidations:
            return
        if keys is None:  # FLUSHALL / FLUSHDB
            self._flush()
            return
        for key in keys:
            self._invalidate_key(key.decode() if isinstance(key, bytes) else str(key))

    def _invalidate_key(self, key: str) -> None:
        self._stamp += 1
        self._entries.pop(key, None)
        if key in self._inflight:
            self._touched[key] = self._stamp

    def _flush(self) -> None:
        self._epoch += 1
        self._stamp += 1
        self._entries.clear()

    def _go_live(self) -> None:
        self._flush()  # nothing filled before the subscription may be kept
        self.live = True
        self._subscribed.set()

    def _go_dark(self) -> None:
        self.live = False
        self._subscribed.clear()
        self._flush()
