"""The session store a configuration asks for."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from albauth.clock import Clock
from albauth.config.model import SessionSettings
from albauth.session.cookie_store import CookieSessionStore
from albauth.session.memory_store import MemorySessionStore
from albauth.session.sealing import Sealer
from albauth.session.store import SessionStore

if TYPE_CHECKING:  # redis-py costs ~7 MiB per process: imported only when the store is Redis
    from albauth.session.redis_store import RedisSessionStore

__all__ = ["BuiltStore", "build_store"]


@dataclass(frozen=True)
class BuiltStore:
    store: SessionStore
    #: The same store when it is Redis: what replicas share beyond sessions (refresh
    #: locks, signing keys) lives beside them.
    redis: RedisSessionStore | None = None


def build_store(settings: SessionSettings, secrets: tuple[str, ...], clock: Clock) -> BuiltStore:
    sealer = Sealer(secrets, "albauth session")
    if settings.store == "memory":
        return BuiltStore(MemorySessionStore(sealer, clock))
    if settings.store == "redis":
        assert settings.redis_url  # required by the config loader
        from albauth.session.redis_store import RedisSessionStore

        redis = RedisSessionStore.from_url(settings.redis_url, sealer=sealer, clock=clock,
                                           key_prefix=settings.key_prefix)
        return BuiltStore(redis, redis)
    return BuiltStore(CookieSessionStore(sealer))
