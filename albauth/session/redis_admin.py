"""Listing Redis sessions through their indexes, for `albauth sessions list`.

Only what Redis holds in clear can be listed: sid, binding, times, TTL and index digests,
never claims or tokens (those need the ticket in the user's browser). Revocation is the
store's own (`RedisSessionStore.revoke`).
"""

from __future__ import annotations

from albauth.session.redis_index import SessionRecord
from albauth.session.redis_store import RedisSessionStore

__all__ = ["SessionRecord", "list_sessions"]


async def list_sessions(store: RedisSessionStore, sub: str | None = None) -> list[SessionRecord]:
    """Every live session (a SCAN: an operator's tool, not for the request path), or
    those of one user; sorted by sid. Index entries whose session is gone are pruned."""
    sids = await store.index.sids(sub=sub)
    records = await store.index.records(sids)
    if sub is not None:
        await store.index.prune(store.keys.sub(sub), sids - {r.sid for r in records})
    return records
