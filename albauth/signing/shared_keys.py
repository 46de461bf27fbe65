"""The x-amzn-oidc-data signing keys, shared by every replica through Redis.

With the Redis session store and no `signing.key_file`, every replica signs with keys that
every replica's key endpoint serves: the ring lives in one Redis hash,

    <prefix>signing-keys      hash: <kid> -> sealed {"pem": private PKCS#8 PEM,
                              "created": t, "active_from": t}

each value sealed (AES-256-GCM) with a key derived from the session secrets,
`Sealer(secrets, purpose="albauth signing keys")`, with the kid as associated data: a
Redis dump reveals no private key, and a value cannot be moved to another kid.

Which key signs is computed, not stored: the newest key whose `active_from` has passed.
The first key is created atomically (a Lua script that writes only into an empty hash, so
replicas starting together agree on one key) and is active at once. `albauth keys rotate`
adds a key whose `active_from` lies `ROTATION_DELAY` (2 refresh intervals) ahead: every
replica re-reads the ring every `REFRESH_INTERVAL` seconds, so all of them serve the new
key before any signs with it. A key that stopped signing is served for `RETIRE_AFTER`
(1 hour, far beyond a 120 s x-amzn-oidc-data token) and then left out; the next rotation
deletes it from Redis. Replicas compare `active_from` with their own clocks: keep them in
NTP sync (a skew of seconds is harmless next to the 2-minute delay).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from albauth.session.sealing import Sealer, SealError
from albauth.signing.keyring import KeyRing, KeyRingError, SigningKey

if TYPE_CHECKING:
    from albauth.session.redis_store import RedisSessionStore

__all__ = ["REFRESH_INTERVAL", "RETIRE_AFTER", "ROTATION_DELAY", "SharedKeyRing", "StoredKey",
           "key_sealer", "load_keys", "ring_at", "rotate"]

log = logging.getLogger("albauth.signing")

REFRESH_INTERVAL = 60.0
ROTATION_DELAY = 2 * REFRESH_INTERVAL
RETIRE_AFTER = 3600.0
PURPOSE = "albauth signing keys"

# HSET only into an empty hash: the first replica's key wins, the others load it.
_CREATE_FIRST = """
if redis.call('hlen', KEYS[1]) == 0 then
  redis.call('hset', KEYS[1], ARGV[1], ARGV[2])
  return 1
end
return 0
"""


def key_sealer(secrets: Iterable[str]) -> Sealer:
    return Sealer(tuple(secrets), purpose=PURPOSE)


def _aad(kid: str) -> bytes:
    return b"albauth/signing-key\0" + kid.encode()


@dataclass(frozen=True)
class StoredKey:
    key: SigningKey
    created: float
    active_from: float

    def seal(self, sealer: Sealer) -> bytes:
        doc = {"pem": self.key.private_pem().decode("ascii"), "created": self.created,
               "active_from": self.active_from}
        return sealer.seal(json.dumps(doc).encode(), _aad(self.key.kid))

    @classmethod
    def open(cls, kid: str, sealed: bytes, sealer: Sealer) -> StoredKey:
        """ValueError on anything that is not a key sealed under these secrets for `kid`."""
        try:
            doc = json.loads(sealer.open(sealed, _aad(kid)))
            private = serialization.load_pem_private_key(doc["pem"].encode(), password=None)
            if not isinstance(private, ec.EllipticCurvePrivateKey):
                raise ValueError("not an EC key")
            key = SigningKey.from_private_key(private)
            created, active_from = float(doc["created"]), float(doc["active_from"])
        except (SealError, KeyError, TypeError, KeyRingError, UnicodeDecodeError) as exc:
            raise ValueError(f"signing key {kid}: {exc}") from exc
        if key.kid != kid:
            raise ValueError(f"signing key {kid}: the key inside is {key.kid}")
        return cls(key, created, active_from)


def ring_at(stored: Iterable[StoredKey], now: float, retire_after: float = RETIRE_AFTER) -> KeyRing:
    """What a replica serves and signs with at `now`: the current key (the newest that is
    active) first, then keys that will be (already published), then retired keys for
    `retire_after` seconds after their successor took over."""
    ordered = sorted(stored, key=lambda s: (s.active_from, s.created))
    if not ordered:
        raise KeyRingError("no signing keys")
    active = [i for i, s in enumerate(ordered) if s.active_from <= now]
    at = active[-1] if active else 0
    served = [ordered[at]] + ordered[at + 1:]
    for i in range(at - 1, -1, -1):
        if now < ordered[i + 1].active_from + retire_after:
            served.append(ordered[i])
    return KeyRing([s.key for s in served], ordered[at].key.kid)


class _Redis:
    """Commands through the session store's pool and its failure mapping."""

    def __init__(self, store: RedisSessionStore) -> None:
        self.store = store
        self.key = f"{store.key_prefix}signing-keys"

    async def __call__(self, fn: Callable[[Any], Awaitable[Any]]) -> Any:
        return await self.store.execute(fn)


async def load_keys(store: RedisSessionStore, sealer: Sealer) -> list[StoredKey]:
    """Every key in Redis that opens under these secrets (others are logged and skipped)."""
    redis = _Redis(store)
    raw = await redis(lambda r: r.hgetall(redis.key))
    out = []
    for field, value in raw.items():
        kid = field.decode() if isinstance(field, bytes) else field
        try:
            out.append(StoredKey.open(kid, value, sealer))
        except ValueError as exc:
            log.warning("skipping %s: %s (sealed under other session secrets?)", redis.key, exc)
    return out


async def rotate(store: RedisSessionStore, sealer: Sealer, *, delay: float = ROTATION_DELAY,
                 retire_after: float = RETIRE_AFTER, now: float | None = None) -> tuple[str, float, list[str]]:
    """Publish a new key that signs from `now + delay`; delete keys retired for longer
    than `retire_after`. Returns (new kid, its active_from, deleted kids)."""
    now = time.time() if now is None else now
    redis = _Redis(store)
    new = StoredKey(SigningKey.generate(), now, now + delay)
    existing = await load_keys(store, sealer)
    await redis(lambda r: r.hset(redis.key, new.key.kid, new.seal(sealer)))
    served = set(ring_at([*existing, new], now, retire_after).kids)
    gone = [s.key.kid for s in existing if s.key.kid not in served]
    if gone:
        await redis(lambda r: r.hdel(redis.key, *gone))
    return new.key.kid, new.active_from, gone


class SharedKeyRing:
    """`runtime.keyring` for replicas sharing Redis: a KeyRing-like view of the ring last
    read from Redis (what the admin key routes serve), refreshed every `refresh_interval`
    seconds. `on_change(ring)` runs when the signing key or the served set changes."""

    def __init__(self, store: RedisSessionStore, sealer: Sealer, *,
                 refresh_interval: float = REFRESH_INTERVAL, retire_after: float = RETIRE_AFTER,
                 clock: Callable[[], float] = time.time,
                 on_change: Callable[[KeyRing], None] | None = None) -> None:
        self.store = store
        self.sealer = sealer
        self.refresh_interval = refresh_interval
        self.retire_after = retire_after
        self.clock = clock  # wall time, shared with the CLI and other replicas
        self.on_change = on_change
        self.ring: KeyRing | None = None
        self._stored: list[StoredKey] = []
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    # --- KeyRing-like view ------------------------------------------------------------------

    @property
    def current(self) -> SigningKey:
        if self.ring is None:
            raise KeyRingError("the shared signing keys are not loaded yet")
        return self.ring.current

    @property
    def kids(self) -> list[str]:
        return [] if self.ring is None else self.ring.kids

    def get(self, kid: str) -> SigningKey | None:
        return None if self.ring is None else self.ring.get(kid)

    def public_pem(self, kid: str) -> bytes | None:
        return None if self.ring is None else self.ring.public_pem(kid)

    def jwks(self) -> dict[str, Any]:
        return {"keys": []} if self.ring is None else self.ring.jwks()

    # --- loading ------------------------------------------------------------------------------

    async def ready(self) -> KeyRing:
        """The ring, loaded from Redis (creating the first key) on first use."""
        if self.ring is not None:
            return self.ring
        async with self._lock:
            if self.ring is None:
                await self.load()
            self.start()
        assert self.ring is not None
        return self.ring

    async def load(self) -> KeyRing:
        stored = await load_keys(self.store, self.sealer)
        if not stored:
            first = StoredKey(SigningKey.generate(), self.clock(), 0.0)
            redis = _Redis(self.store)
            created = await redis(lambda r: r.eval(_CREATE_FIRST, 1, redis.key, first.key.kid,
                                                   first.seal(self.sealer)))
            if created:
                log.info("created the first shared signing key %s", first.key.kid)
            stored = await load_keys(self.store, self.sealer)
            if not stored:
                raise KeyRingError(f"{redis.key} holds no key that opens with the configured "
                                   "session secrets")
        self._stored = stored
        self._apply()
        assert self.ring is not None
        return self.ring

    def _apply(self) -> None:
        ring = ring_at(self._stored, self.clock(), self.retire_after)
        old = self.ring
        self.ring = ring
        if old is None or old.current.kid != ring.current.kid or old.kids != ring.kids:
            if old is not None:
                log.info("signing keys now %s (signing with %s)", ring.kids, ring.current.kid)
            if self.on_change is not None:
                self.on_change(ring)

    def start(self) -> None:
        """Re-read the ring periodically (from inside the running loop)."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._refresh_forever())

    async def _refresh_forever(self) -> None:
        while True:
            if self.ring is not None:
                await asyncio.sleep(self.refresh_interval)
            try:
                await self.load()
            except Exception as exc:  # Redis down: keep serving what we have, retry later
                log.warning("could not refresh the shared signing keys: %s", exc)
                if self.ring is None:
                    await asyncio.sleep(min(self.refresh_interval, 1.0))
                elif self._stored:
                    self._apply()  # a published key still becomes current on time

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass
