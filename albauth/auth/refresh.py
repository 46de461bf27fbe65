"""Single-flight token refresh (spec 4): N concurrent requests on one session whose access
token has expired cause one refresh at the provider; the others wait for its result.

Browsers keep sending the old cookie until the refreshed one arrives, so a finished
refresh is remembered briefly under the access token it replaced."""

from __future__ import annotations

import asyncio
from typing import Awaitable, Callable

from albauth.clock import Clock
from albauth.session.model import Session

RefreshFn = Callable[[Session], Awaitable[Session]]
_REMEMBER_SECONDS = 30.0


class SingleFlightRefresher:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._inflight: dict[tuple[str, str], asyncio.Future[Session]] = {}
        self._recent: dict[tuple[str, str], tuple[float, Session]] = {}

    async def refresh(self, session: Session, do_refresh: RefreshFn) -> Session:
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
            refreshed = await do_refresh(session)
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
