"""A session store that times its calls: the store's latency and failures by operation
(`albauth_session_store_latency_seconds`, `albauth_session_store_error_count_total`), for
every store alike, without the stores knowing about metrics."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Mapping
from typing import TypeVar

from albauth.ops.metrics import Metrics
from albauth.session.cookies import CookiePolicy
from albauth.session.errors import SessionStoreError
from albauth.session.model import Session
from albauth.session.store import SessionStore

__all__ = ["TimedStore"]

T = TypeVar("T")


class TimedStore:
    def __init__(self, store: SessionStore, metrics: Metrics) -> None:
        self.inner = store
        self.can_revoke = store.can_revoke
        self._latency = {op: metrics.store_latency.labels(op) for op in ("load", "save", "delete", "revoke")}
        self._errors = {op: metrics.store_errors.labels(op) for op in ("load", "save", "delete", "revoke")}
        self._load_latency, self._load_errors = self._latency["load"], self._errors["load"]

    async def _timed(self, op: str, call: Awaitable[T]) -> T:
        started = time.perf_counter()
        try:
            return await call
        except SessionStoreError:  # the store failed; SessionInvalid is a verdict, not a failure
            self._errors[op].inc()
            raise
        finally:
            self._latency[op].observe(time.perf_counter() - started)

    async def load(self, cookies: Mapping[str, str], cookie_name: str, binding: str) -> Session | None:
        # `_timed` inlined: load runs on every authenticated request, one coroutine less.
        started = time.perf_counter()
        try:
            return await self.inner.load(cookies, cookie_name, binding)
        except SessionStoreError:
            self._load_errors.inc()
            raise
        finally:
            self._load_latency.observe(time.perf_counter() - started)

    async def save(self, session: Session, cookie_name: str, cookies: Mapping[str, str],
                   policy: CookiePolicy, now: float) -> list[str]:
        return await self._timed("save", self.inner.save(session, cookie_name, cookies, policy, now))

    async def delete(self, session: Session) -> None:
        await self._timed("delete", self.inner.delete(session))

    async def revoke(self, *, binding: str | None = None, sub: str | None = None,
                     idp_sid: str | None = None, sid: str | None = None) -> int:
        return await self._timed("revoke", self.inner.revoke(binding=binding, sub=sub, idp_sid=idp_sid, sid=sid))

    async def close(self) -> None:
        await self.inner.close()
