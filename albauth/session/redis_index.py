"""Where sessions live in Redis, and the indexes that find them by user or provider
session, for revocation (`albauth sessions`, back-channel logout).

    <prefix>session:<sid>     one session (albauth.session.redis_value)
    <prefix>sub:<digest>      set of sids, for revocation by user
    <prefix>idpsid:<digest>   set of sids, for OIDC back-channel logout by IdP `sid`

Only what Redis holds in clear can be listed: sid, binding, times, TTL and index digests,
never claims or tokens (those need the ticket in the user's browser).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from albauth.session.redis_connect import Client
from albauth.session.redis_value import digest, read_header

__all__ = ["RedisIndex", "RedisKeys", "SessionRecord"]

T = TypeVar("T")
Execute = Callable[[Callable[[Client], Awaitable[T]]], Awaitable[T]]


class RedisKeys:
    """The key layout under one prefix (`albauth.session.key_prefix`, "albauth:")."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def session(self, sid: str) -> str:
        return f"{self.prefix}session:{sid}"

    def sub(self, sub: str) -> str:
        return self.sub_digest(digest(sub))

    def idp_sid(self, idp_sid: str) -> str:
        return self.idp_sid_digest(digest(idp_sid))

    def sub_digest(self, value: str) -> str:
        return f"{self.prefix}sub:{value}"

    def idp_sid_digest(self, value: str) -> str:
        return f"{self.prefix}idpsid:{value}"


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


class RedisIndex:
    """Queries over the indexes, run through the store's connection pool and failure
    mapping (`execute`)."""

    def __init__(self, keys: RedisKeys, execute: Execute[Any], *, transaction: bool) -> None:
        self.keys = keys
        self._execute = execute
        self._transaction = transaction

    async def sids(self, *, sub: str | None = None, idp_sid: str | None = None) -> set[str]:
        """Sids indexed under `sub` and/or `idp_sid` (both given: those in both); every
        session's sid when neither is (a SCAN: an operator's tool, not for the request
        path). May include sids whose entry is gone."""
        keys = ([self.keys.sub(sub)] if sub is not None else []) + (
            [self.keys.idp_sid(idp_sid)] if idp_sid is not None else [])
        if keys:
            async def members(client: Client) -> list[set[str]]:
                return [{_text(m) for m in await client.smembers(k)} for k in keys]

            found: list[set[str]] = await self._execute(members)
            return set.intersection(*found)
        prefix = self.keys.session("")

        async def scan(client: Client) -> set[str]:
            return {_text(k)[len(prefix):] async for k in
                    client.scan_iter(match=_glob_escape(prefix) + "*", count=1000)}

        result: set[str] = await self._execute(scan)
        return result

    async def records(self, sids: Iterable[str]) -> list[SessionRecord]:
        """What Redis holds for these sids (gone ones are skipped), sorted by sid."""
        ordered = sorted(sids)
        if not ordered:
            return []

        async def fetch(client: Client) -> list[Any]:
            pipe = client.pipeline(transaction=False)
            for sid in ordered:
                pipe.get(self.keys.session(sid))
                pipe.ttl(self.keys.session(sid))
            return list(await pipe.execute())

        replies = await self._execute(fetch)
        out = []
        for i, sid in enumerate(ordered):
            stored, ttl = replies[2 * i], replies[2 * i + 1]
            if stored is None:
                continue
            try:
                h = read_header(stored)
            except ValueError:
                continue  # not ours (another format version): nothing to report
            out.append(SessionRecord(sid=sid, binding=h.binding, authenticated_at=h.authenticated_at,
                                     expires_at=h.expires_at, ttl=int(ttl), sub_digest=h.sub_digest,
                                     idp_sid_digest=h.idp_sid_digest))
        return out

    async def revoke_sids(self, sids: Iterable[str]) -> int:
        """Delete these sessions and their index memberships; how many existed."""
        ordered = sorted(set(sids))
        if not ordered:
            return 0

        async def fetch(client: Client) -> list[Any]:
            pipe = client.pipeline(transaction=False)
            for sid in ordered:
                pipe.get(self.keys.session(sid))
            return list(await pipe.execute())

        found = await self._execute(fetch)
        memberships = [self._index_keys(stored) for stored in found]

        async def remove(client: Client) -> list[Any]:
            pipe = client.pipeline(transaction=self._transaction)
            for sid, indexes in zip(ordered, memberships, strict=True):
                pipe.delete(self.keys.session(sid))
                for index in indexes:
                    pipe.srem(index, sid)
            return list(await pipe.execute())

        replies = await self._execute(remove)
        deleted, at = 0, 0
        for indexes in memberships:  # each sid's DEL reply, then its SREM replies
            deleted += int(replies[at])
            at += 1 + len(indexes)
        return deleted

    async def prune(self, key: str, sids: Iterable[str]) -> None:
        """Drop sids whose session is gone from an index set."""
        gone = list(sids)
        if gone:
            async def srem(client: Client) -> Any:
                return await client.srem(key, *gone)

            await self._execute(srem)

    def _index_keys(self, stored: bytes | None) -> list[str]:
        if stored is None:
            return []
        try:
            h = read_header(stored)
        except ValueError:
            return []
        keys = [self.keys.sub_digest(h.sub_digest)]
        if h.idp_sid_digest is not None:
            keys.append(self.keys.idp_sid_digest(h.idp_sid_digest))
        return keys


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _glob_escape(text: str) -> str:
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)
