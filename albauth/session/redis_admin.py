"""Listing and revoking Redis sessions through their indexes, for `albauth sessions
list|revoke` and OIDC back-channel logout (a logout token names a `sub`, a `sid`, or both).

Only what Redis holds in clear can be listed: sid, binding, times, TTL and index digests,
never claims or tokens (those need the ticket in the user's browser).
"""

from __future__ import annotations

from albauth.session.redis_store import RedisSessionStore, SessionRecord

__all__ = ["SessionRecord", "list_sessions", "revoke"]


async def list_sessions(store: RedisSessionStore, sub: str | None = None) -> list[SessionRecord]:
    """Every live session (a SCAN: an operator's tool, not for the request path), or
    those of one user; sorted by sid. Index entries whose session is gone are pruned."""
    sids = await store.sids(sub=sub)
    records = await store.records(sids)
    if sub is not None:
        await store.prune_index(store.sub_key(sub), sids - {r.sid for r in records})
    return records


async def revoke(store: RedisSessionStore, sub: str | None = None, sid: str | None = None,
                 idp_sid: str | None = None) -> int:
    """Delete the sessions matching every given selector (`sid` is albauth's session id,
    `idp_sid` the provider's `sid` claim); return how many existed. Following OIDC
    Back-Channel Logout 1.0 section 2.4, a token with both `sub` and `sid` ends the
    sessions of that provider session, which all belong to that user anyway."""
    if sub is None and sid is None and idp_sid is None:
        raise ValueError("revoke needs a sub, a sid or an idp_sid")
    if sub is not None or idp_sid is not None:
        sids = await store.sids(sub=sub, idp_sid=idp_sid)
        if sid is not None:
            sids &= {sid}
    else:
        assert sid is not None
        sids = {sid}
    return await store.revoke_sids(sids)
