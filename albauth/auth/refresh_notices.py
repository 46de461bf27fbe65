"""Wake-ups for requests waiting on a refresh that another replica runs (issue 14: waiters
polled Redis every 20-250 ms each and ran the pool dry during refresh waves).

One pub/sub subscription per process, to one channel per key prefix; a replica that
finishes a refresh (saved, failed or gave up) publishes the session's sid there, and every
request of this process waiting on that sid wakes and reads the result once. Nothing is
guaranteed of pub/sub (a message sent while the subscription reconnects is lost), so
waiters keep a slow fallback poll; a (re)established subscription wakes every waiter, so
one that checked before it existed misses nothing."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, Protocol

from albauth.ops.log_throttle import LogThrottle

__all__ = ["PubSubSource", "RefreshNotices"]

log = logging.getLogger("albauth.auth")

_LISTEN_SLICE = 30.0  # seconds per read while idle (not a poll: no command is sent)
_RESUBSCRIBE_DELAY = 1.0


class PubSubSource(Protocol):
    def pubsub(self) -> tuple[Any, Callable[[], Awaitable[None]]]:
        """A redis-py PubSub on a connection of its own, and the closer of that connection."""
        ...


class RefreshNotices:
    def __init__(self, source: PubSubSource, channel: str) -> None:
        self.source = source
        self.channel = channel
        self.failures = LogThrottle(log)
        self._waiters: dict[str, set[asyncio.Event]] = {}
        self._task: asyncio.Task[None] | None = None

    @contextlib.contextmanager
    def watch(self, sid: str) -> Iterator[asyncio.Event]:
        """An event set when a refresh of `sid` finished somewhere (or may have: after a
        resubscription). The caller clears it before each look at the store."""
        self._listen_in_background()
        event = asyncio.Event()
        self._waiters.setdefault(sid, set()).add(event)
        try:
            yield event
        finally:
            waiting = self._waiters.get(sid)
            if waiting is not None:
                waiting.discard(event)
                if not waiting:
                    del self._waiters[sid]

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _listen_in_background(self) -> None:
        loop = asyncio.get_running_loop()
        if self._task is None or self._task.done() or self._task.get_loop() is not loop:
            self._task = loop.create_task(self._listen(), name="albauth refresh notices")

    async def _listen(self) -> None:
        while True:
            try:
                await self._listen_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis down or gone: waiters fall back to polling
                self.failures.failure("refresh notices: subscription lost", exc, level=logging.WARNING)
            self._wake_all()
            await asyncio.sleep(_RESUBSCRIBE_DELAY)

    async def _listen_once(self) -> None:
        pubsub, close = self.source.pubsub()
        try:
            await pubsub.subscribe(self.channel)
            while True:
                message = await pubsub.get_message(timeout=_LISTEN_SLICE)
                if message is None:
                    continue
                if message["type"] == "subscribe":
                    self._wake_all()  # checks made before this point may have missed a notice
                elif message["type"] == "message":
                    self._wake(message["data"])
        finally:
            with contextlib.suppress(Exception):
                await pubsub.aclose()
            with contextlib.suppress(Exception):
                await close()

    def _wake(self, data: bytes | str) -> None:
        sid = data.decode("ascii", "replace") if isinstance(data, bytes) else data
        for event in self._waiters.get(sid, ()):
            event.set()

    def _wake_all(self) -> None:
        for waiting in self._waiters.values():
            for event in waiting:
                event.set()
