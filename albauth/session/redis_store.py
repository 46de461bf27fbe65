"""Sessions in Redis, shared by every replica; the browser keeps only a ticket.

The ticket is the session cookie's value (still ALB-named and shardable, though it fits
one shard): a random 256-bit per-session secret and the sid, sealed by the `Sealer` with
`session_aad(cookie_name, binding)`, so it cannot be forged or moved to another rule.
Redis holds the session encrypted with AES-256-GCM under a key derived (HKDF) from that
secret, which is never written to Redis: a dump of Redis alone yields no tokens and no
claims, and the cookie alone yields nothing without the configured session secret.

Key layout (`<prefix>` is `albauth.session.key_prefix`, "albauth:" by default):

    <prefix>session:<sid>     string: 0x01 | header length (2 bytes) | header | nonce |
                              AES-256-GCM(session.to_bytes()); the header is clear JSON,
                              {"b": binding, "t": authenticated_at, "e": expires_at,
                              "u": sub digest, "i": IdP sid digest}, authenticated with
                              the ciphertext: what an operator may list without tickets
    <prefix>sub:<digest>      set of sids, for revocation by user
    <prefix>idpsid:<digest>   set of sids, for OIDC back-channel logout by IdP `sid`

Digests are SHA-256 (first 128 bits, hex) of the `sub` / IdP `sid`, so a dump does not
list users; they are fingerprints, not secrets (whoever knows a `sub` can find its set).

TTL. An entry lives `remaining + expired_grace` seconds (`remaining` = time left until
`expires_at`, at least 1 s), capped at the cookie's Max-Age (past it the browser no
longer presents the ticket) but never below `remaining`. The grace exists because an
expired session must still load: the action re-authenticates an expired session even
under `deny`, where a missing one is a 401 (ALB spec 1.3). The default grace is ALB's
cookie lifetime (7 days), so an expired session loads as expired for exactly as long as
the browser can present it, as with the cookie store; a smaller grace trades that
fidelity (deny rules answer 401 instead of a login redirect after it) for memory. With
ALB's default SessionTimeout (7 days) the TTL is simply the cookie's 7 days. The index
sets get the longest TTL of their members (EXPIRE NX, then EXPIRE GT: Redis >= 7.0).

Revocation (`delete`, albauth.session.redis_admin) removes the entry and its index
memberships. A session is revoked for good: its re-save after a refresh that was in
flight meanwhile is a SET XX, which does not recreate it, and expires the cookie instead.

URL forms and connection options: albauth.session.redis_connect.

Failures. A ticket that does not open, a session that is gone, or data that does not
decrypt is `SessionInvalid` ("log in again"). Anything else from Redis (refused, timed
out, failed over, ACL errors) is `SessionStoreUnavailable`, which the action answers with
503: fail closed, never forward. redis-py reconnects by itself once Redis is back; one
immediate retry on a connection error covers a pooled connection that died meanwhile.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import math
import os
import secrets
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from redis.exceptions import RedisClusterException, RedisError

from albauth.clock import Clock, system_clock
from albauth.session.cookies import CookiePolicy, expire, replace_shards, shard_indices
from albauth.session.model import Session
from albauth.session.redis_connect import DEFAULT_MAX_CONNECTIONS, DEFAULT_TIMEOUT, Client, Connector, parse_redis_url
from albauth.session.sealing import Sealer
from albauth.session.store import SessionInvalid, open_sealed_cookie, session_aad

__all__ = ["DEFAULT_EXPIRED_GRACE", "RedisSessionStore", "SessionRecord",
           "SessionStoreUnavailable"]

DEFAULT_EXPIRED_GRACE = 604800  # ALB's session cookie lifetime (7 days)

_TICKET_VERSION = b"\x01"
_SECRET_LEN = 32
_VALUE_VERSION = b"\x01"
_NONCE_LEN = 12
_HKDF_SALT = b"albauth/redis-session/v1"
# Secrets of sessions this process loaded or saved, so a re-save (after a refresh) keeps
# the secret that cookies already in flight, on this or another replica, carry, and is
# told from the first save of a new session. Kept after a delete or revoke on purpose:
# a refresh still in flight must be seen as a re-save, which never recreates an entry.
_SECRET_CACHE_SIZE = 50_000
# Sessions decrypted lately, by (ticket secret, stored bytes): the same bytes under the same
# secret always open to the same session.
_OPENED_CACHE_SIZE = 4096

# RedisClusterException ("cannot be connected", slots not covered) is not a RedisError.
_REDIS_ERRORS = (RedisError, RedisClusterException, OSError)
T = TypeVar("T")


class SessionStoreUnavailable(ConnectionError):
    """Redis did not answer (down, unreachable, timed out) or refused the command. Not a
    verdict on the session: the caller fails closed with 503."""


@dataclass(frozen=True)
class SessionRecord:
    """What Redis knows about a session without its ticket: no claims, no tokens."""

    sid: str
    binding: str
    authenticated_at: float
    expires_at: float
    ttl: int  # seconds until Redis drops the entry
    sub_digest: str
    idp_sid_digest: str | None


def digest(value: str) -> str:
    """The index fingerprint of a `sub` or IdP `sid`."""
    return hashlib.sha256(b"albauth/index\0" + value.encode()).hexdigest()[:32]



class RedisSessionStore:
    """A `SessionStore` on Redis. Build it with `from_url`; `connect` is the seam for
    tests and other topologies: it returns a redis.asyncio client and its closers, and
    is called once per event loop, inside it. TTLs come from the `now` handed to `save`,
    so `clock` is accepted only for parity with the other stores."""

    def __init__(self, connect: Connector, sealer: Sealer, clock: Clock = system_clock, *,
                 key_prefix: str = "albauth:", expired_grace: int = DEFAULT_EXPIRED_GRACE,
                 cluster: bool = False, max_connections: int = DEFAULT_MAX_CONNECTIONS,
                 wait_timeout: float = DEFAULT_TIMEOUT) -> None:
        self._connect = connect
        self._sealer = sealer
        self.key_prefix = key_prefix
        self._grace = expired_grace
        # The session key is written atomically (SET EX) everywhere; the index updates go
        # with it in one MULTI, except on a Cluster, which cannot run MULTI across slots.
        self._transaction = not cluster
        self._client: Client | None = None
        # redis-py's async pool raises at once when all its connections are busy; a burst
        # of requests waits here instead (bounded by the pool's size), but no longer than
        # a Redis command may take, so a hung Redis still fails fast.
        self._max_connections = max_connections
        self._wait_timeout = wait_timeout
        self._slots = asyncio.Semaphore(max_connections)
        self._closers: list[Callable[[], Awaitable[None]]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._secrets: OrderedDict[str, bytes] = OrderedDict()
        self._opened: OrderedDict[tuple[bytes, bytes], Session] = OrderedDict()

    @classmethod
    def from_url(cls, url: str, *, sealer: Sealer, clock: Clock = system_clock,
                 key_prefix: str = "albauth:", expired_grace: int = DEFAULT_EXPIRED_GRACE,
                 socket_timeout: float = DEFAULT_TIMEOUT,
                 socket_connect_timeout: float = DEFAULT_TIMEOUT) -> RedisSessionStore:
        """Parse (and so validate) the URL now; connect on first use."""
        target = parse_redis_url(url, socket_timeout, socket_connect_timeout)
        return cls(target.connect, sealer, clock, key_prefix=key_prefix,
                   expired_grace=expired_grace, cluster=target.kind == "cluster",
                   max_connections=target.max_connections, wait_timeout=target.wait_timeout)

    # --- key names ------------------------------------------------------------------------

    def session_key(self, sid: str) -> str:
        return f"{self.key_prefix}session:{sid}"

    def sub_key(self, sub: str) -> str:
        return f"{self.key_prefix}sub:{digest(sub)}"

    def idp_sid_key(self, idp_sid: str) -> str:
        return f"{self.key_prefix}idpsid:{digest(idp_sid)}"

    # --- SessionStore ---------------------------------------------------------------------

    async def load(self, cookies: Mapping[str, str], cookie_name: str,
                   binding: str) -> Session | None:
        ticket = open_sealed_cookie(self._sealer, cookies, cookie_name, binding)
        if ticket is None:
            return None
        secret, sid = _parse_ticket(ticket)
        client = self._redis()
        stored = await self._call(lambda: client.get(self.session_key(sid)))
        if not isinstance(stored, bytes):  # None: gone (no decode_responses, so bytes)
            raise SessionInvalid("no such session (revoked or dropped)")
        # The GET above runs on every request (revocation and fail-closed depend on it);
        # only decrypting and decoding the same stored bytes again is skipped.
        opened_key = (secret, stored)
        session = self._opened.get(opened_key)
        if session is None:
            try:
                session = Session.from_bytes(_open(secret, sid, stored))
            except ValueError as exc:
                raise SessionInvalid(str(exc)) from exc
            self._opened[opened_key] = session
            if len(self._opened) > _OPENED_CACHE_SIZE:
                self._opened.popitem(last=False)
        if session.sid != sid or session.binding != binding:
            raise SessionInvalid("session belongs to another ticket or rule binding")
        self._remember(sid, secret)
        return session

    async def save(self, session: Session, cookie_name: str, cookies: Mapping[str, str],
                   policy: CookiePolicy, now: float) -> list[str]:
        known = self._secrets.get(session.sid)
        secret = known or secrets.token_bytes(_SECRET_LEN)
        remaining = max(1, math.ceil(session.expires_at - now))
        ttl = min(remaining + self._grace, max(remaining, policy.max_age))
        indexes = [self.sub_key(session.sub)]
        if session.idp_sid is not None:
            indexes.append(self.idp_sid_key(session.idp_sid))
        pipe = self._redis().pipeline(transaction=self._transaction)
        # A re-save (after a refresh) only replaces an entry that still exists: a session
        # revoked while its refresh was in flight must not come back.
        pipe.set(self.session_key(session.sid), _seal_value(secret, session), ex=ttl,
                 xx=known is not None)
        for index in indexes:
            pipe.sadd(index, session.sid)
            pipe.expire(index, ttl, nx=True)
            pipe.expire(index, ttl, gt=True)
        replies = await self._call(pipe.execute)
        if not replies[0]:
            return expire(cookie_name, shard_indices(cookies, cookie_name), policy)
        self._remember(session.sid, secret)
        ticket = self._sealer.seal(_TICKET_VERSION + secret + session.sid.encode(),
                                   session_aad(cookie_name, session.binding))
        return replace_shards(cookie_name, base64.b64encode(ticket).decode("ascii"), cookies,
                              policy, now)

    async def delete(self, session: Session) -> None:
        pipe = self._redis().pipeline(transaction=self._transaction)
        pipe.delete(self.session_key(session.sid))
        pipe.srem(self.sub_key(session.sub), session.sid)
        if session.idp_sid is not None:
            pipe.srem(self.idp_sid_key(session.idp_sid), session.sid)
        await self._call(pipe.execute)

    async def close(self) -> None:
        closers, self._closers, self._client, self._loop = self._closers, [], None, None
        self._secrets.clear()
        self._opened.clear()
        for close in closers:
            try:
                await close()
            except (RedisError, OSError):
                pass

    # --- by index, for albauth.session.redis_admin --------------------------------------------

    async def sids(self, *, sub: str | None = None, idp_sid: str | None = None) -> set[str]:
        """Sids indexed under `sub` and/or `idp_sid` (both given: those in both); every
        session's sid when neither is. May include sids whose entry is gone."""
        client = self._redis()
        keys = ([self.sub_key(sub)] if sub is not None else []) + (
            [self.idp_sid_key(idp_sid)] if idp_sid is not None else [])
        if keys:
            async def members() -> list[set[str]]:
                return [{m.decode() if isinstance(m, bytes) else m
                         for m in await client.smembers(k)} for k in keys]

            return set.intersection(*await self._call(members))
        prefix = self.session_key("")

        async def scan() -> set[str]:
            return {k.decode()[len(prefix):] async for k in
                    client.scan_iter(match=_glob_escape(prefix) + "*", count=1000)}

        return await self._call(scan)

    async def records(self, sids: Iterable[str]) -> list[SessionRecord]:
        """What Redis holds for these sids (gone ones are skipped), sorted by sid."""
        ordered = sorted(sids)
        if not ordered:
            return []
        pipe = self._redis().pipeline(transaction=False)
        for sid in ordered:
            pipe.get(self.session_key(sid))
            pipe.ttl(self.session_key(sid))
        replies = await self._call(pipe.execute)
        out = []
        for i, sid in enumerate(ordered):
            stored, ttl = replies[2 * i], replies[2 * i + 1]
            if stored is None:
                continue
            try:
                meta = _clear_header(stored)[0]
                out.append(SessionRecord(sid=sid, binding=meta["b"],
                                         authenticated_at=float(meta["t"]),
                                         expires_at=float(meta["e"]), ttl=int(ttl),
                                         sub_digest=meta["u"], idp_sid_digest=meta.get("i")))
            except (ValueError, KeyError, TypeError):
                continue  # not ours (another format version): nothing to report
        return out

    async def revoke_sids(self, sids: Iterable[str]) -> int:
        """Delete these sessions and their index memberships; how many existed."""
        ordered = sorted(set(sids))
        if not ordered:
            return 0
        pipe = self._redis().pipeline(transaction=False)
        for sid in ordered:
            pipe.get(self.session_key(sid))
        found = await self._call(pipe.execute)
        pipe = self._redis().pipeline(transaction=self._transaction)
        memberships = []
        for sid, stored in zip(ordered, found, strict=True):
            pipe.delete(self.session_key(sid))
            indexes = []
            try:
                meta = _clear_header(stored)[0] if stored is not None else {}
            except ValueError:
                meta = {}
            if isinstance(meta.get("u"), str):
                indexes.append(f"{self.key_prefix}sub:{meta['u']}")
            if isinstance(meta.get("i"), str):
                indexes.append(f"{self.key_prefix}idpsid:{meta['i']}")
            for index in indexes:
                pipe.srem(index, sid)
            memberships.append(len(indexes))
        replies = await self._call(pipe.execute)
        deleted, at = 0, 0
        for count in memberships:  # each sid's DEL reply, then its SREM replies
            deleted += int(replies[at])
            at += 1 + count
        return deleted

    async def prune_index(self, key: str, sids: Iterable[str]) -> None:
        """Drop sids whose session is gone from an index set."""
        gone = list(sids)
        if gone:
            client = self._redis()
            await self._call(lambda: client.srem(key, *gone))

    # --- plumbing -------------------------------------------------------------------------

    def _redis(self) -> Client:
        # One pool per process, created in the running loop (redis.asyncio connections
        # belong to the loop that opened them).
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            self._client, self._closers = self._connect()
            self._slots = asyncio.Semaphore(self._max_connections)
            self._loop = loop
        return self._client

    async def execute(self, command: Callable[[Client], Awaitable[T]]) -> T:
        """Run commands on this store's pool with its failure mapping (SessionStoreUnavailable):
        for the other shared state that lives beside the sessions (refresh locks, signing keys)."""
        return await self._call(lambda: command(self._redis()))

    def pubsub(self) -> tuple[Any, Callable[[], Awaitable[None]]]:
        """A redis-py PubSub on a client of its own, and that client's closer: a subscriber
        holds its connection for good, which the pool counted by `_call` must not lose
        (refresh wake-ups, albauth.auth.refresh_notices)."""
        client, closers = self._connect()

        async def close() -> None:
            for closer in closers:
                await closer()

        return client.pubsub(), close

    async def _call(self, command: Callable[[], Awaitable[T]]) -> T:
        if self._slots.locked():  # every connection busy: queue, but not for long
            try:
                async with asyncio.timeout(self._wait_timeout):
                    await self._slots.acquire()
            except TimeoutError as exc:
                raise SessionStoreUnavailable("Redis: every connection is busy") from exc
        else:
            await self._slots.acquire()  # a free slot: taken at once, no timer needed
        try:
            return await command()
        except _REDIS_ERRORS as exc:
            raise SessionStoreUnavailable(f"Redis: {exc}") from exc
        finally:
            self._slots.release()

    def _remember(self, sid: str, secret: bytes) -> None:
        self._secrets[sid] = secret
        self._secrets.move_to_end(sid)
        if len(self._secrets) > _SECRET_CACHE_SIZE:
            self._secrets.popitem(last=False)


def _parse_ticket(ticket: bytes) -> tuple[bytes, str]:
    # Sealed by us, so only a ticket from a future version can fail here.
    if ticket[:1] != _TICKET_VERSION or len(ticket) <= 1 + _SECRET_LEN:
        raise SessionInvalid("unknown ticket format")
    try:
        sid = ticket[1 + _SECRET_LEN:].decode("ascii")
    except UnicodeDecodeError as exc:
        raise SessionInvalid("unknown ticket format") from exc
    return ticket[1:1 + _SECRET_LEN], sid


def _value_aead(secret: bytes, sid: str) -> AESGCM:
    # The sid as HKDF info: each session's key is its own even if a secret repeated.
    return AESGCM(HKDF(hashes.SHA256(), 32, _HKDF_SALT, sid.encode()).derive(secret))


def _seal_value(secret: bytes, session: Session) -> bytes:
    """version | header length (2 bytes) | clear JSON header | nonce | AES-GCM ciphertext.

    The header holds what an operator may list without the ticket (binding, times, index
    digests); it is authenticated with the ciphertext, and so is the sid."""
    meta: dict[str, Any] = {"b": session.binding, "t": session.authenticated_at,
                            "e": session.expires_at, "u": digest(session.sub)}
    if session.idp_sid is not None:
        meta["i"] = digest(session.idp_sid)
    header = json.dumps(meta, separators=(",", ":")).encode()
    head = _VALUE_VERSION + len(header).to_bytes(2, "big") + header
    nonce = os.urandom(_NONCE_LEN)
    aead = _value_aead(secret, session.sid)
    return head + nonce + aead.encrypt(nonce, session.to_bytes(), head + session.sid.encode())


def _clear_header(stored: bytes) -> tuple[dict[str, Any], int]:
    """The clear header and where it ends; ValueError if this is not our format."""
    if stored[:1] != _VALUE_VERSION or len(stored) < 3:
        raise ValueError("unknown stored session format")
    end = 3 + int.from_bytes(stored[1:3], "big")
    if len(stored) < end + _NONCE_LEN + 16:
        raise ValueError("stored session is truncated")
    meta = json.loads(stored[3:end])
    if not isinstance(meta, dict):
        raise ValueError("stored session header is not an object")
    return meta, end


def _open(secret: bytes, sid: str, stored: bytes) -> bytes:
    end = _clear_header(stored)[1]
    nonce, ciphertext = stored[end:end + _NONCE_LEN], stored[end + _NONCE_LEN:]
    try:
        return _value_aead(secret, sid).decrypt(nonce, ciphertext, stored[:end] + sid.encode())
    except InvalidTag as exc:
        raise ValueError("stored session does not decrypt with this ticket") from exc


def _glob_escape(text: str) -> str:
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)
