"""Sessions kept in this process; the cookie holds only a sealed ticket.

For single-replica and test setups: sessions die with the process. What it adds over the
cookie store is revocation (`delete`, `revoke`), ALB's missing logout (spec 3.2, "better").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from albauth.clock import Clock, system_clock
from albauth.lru import Lru
from albauth.session.cookies import CookiePolicy, expire, replace_shards, shard_indices
from albauth.session.errors import SessionInvalid
from albauth.session.model import Session
from albauth.session.sealing import Sealer
from albauth.session.ticket import OpenedTickets, Ticket, seal_ticket

__all__ = ["MemorySessionStore"]

# Sids of sessions this store has issued, kept after a delete or revoke on purpose: a
# refresh still in flight must be seen as a re-save, which never recreates an entry.
_KNOWN_TICKETS = 50_000


# Sessions kept opened (objects) besides their packed form: those that send requests.
_OPENED = 1024


@dataclass(frozen=True, slots=True)
class _Entry:
    """A session packed (`Session.to_bytes`: deflated JSON, ~0.8 kB where the object with its
    claims dict takes ~1.9 kB), with what `revoke` matches on beside it."""

    packed: bytes
    drop_at: float
    binding: str
    sub: str
    idp_sid: str | None

    @classmethod
    def of(cls, session: Session, drop_at: float) -> _Entry:
        return cls(session.to_bytes(), drop_at, session.binding, session.sub, session.idp_sid)


class MemorySessionStore:
    """Sessions by sid, behind a ticket (albauth.session.ticket).

    An entry outlives `expires_at` until the cookie carrying it would have expired in the
    browser: `load` must still return an expired session (the caller answers it with a
    re-authentication, which differs from "no session" under `deny`), exactly as the
    cookie store does. Expired entries are swept lazily.

    Entries are kept packed and the `_OPENED` most recently used sessions opened: 10,000
    sessions take ~10 MB less, and a session outside the opened ones costs one inflate and
    JSON parse (~20 µs) on its next request."""

    can_revoke = True

    def __init__(self, sealer: Sealer, clock: Clock = system_clock, *,
                 sweep_interval: float = 60.0) -> None:
        self._sealer = sealer
        self._clock = clock
        self._sweep_interval = sweep_interval
        self._next_sweep = 0.0
        self._entries: dict[str, _Entry] = {}
        self._issued: Lru[str, bool] = Lru(_KNOWN_TICKETS)
        self._tickets = OpenedTickets(sealer, _OPENED)  # unsealing a ticket per request is most of a load
        self._opened: Lru[str, Session] = Lru(_OPENED)  # by sid, always the entry's session

    def __len__(self) -> int:
        return len(self._entries)

    async def load(self, cookies: Mapping[str, str], cookie_name: str,
                   binding: str) -> Session | None:
        ticket = self._tickets.open(cookies, cookie_name, binding)
        if ticket is None:
            return None
        entry = self._entries.get(ticket.sid)
        if entry is None or entry.drop_at <= self._clock():
            self._drop(ticket.sid)
            raise SessionInvalid("no such session (revoked or swept)")
        if entry.binding != binding:
            raise SessionInvalid("session belongs to another rule binding")
        session = self._opened.get(ticket.sid)
        if session is None:
            session = Session.from_bytes(entry.packed)  # written by save: cannot fail
            self._opened[ticket.sid] = session
        return session

    async def save(self, session: Session, cookie_name: str, cookies: Mapping[str, str],
                   policy: CookiePolicy, now: float) -> list[str]:
        self._sweep(now)
        if session.sid in self._issued and session.sid not in self._entries:
            # Revoked while its refresh was in flight: it stays revoked (as Redis's SET XX).
            return expire(cookie_name, shard_indices(cookies, cookie_name), policy)
        self._issued[session.sid] = True
        self._entries[session.sid] = _Entry.of(session, max(session.expires_at, now + policy.max_age))
        self._opened[session.sid] = session
        value = seal_ticket(self._sealer, Ticket(session.sid), cookie_name, session.binding)
        return replace_shards(cookie_name, value, cookies, policy, now)

    async def delete(self, session: Session) -> None:
        self._drop(session.sid)

    def _drop(self, sid: str) -> None:
        self._entries.pop(sid, None)
        self._opened.pop(sid)

    async def revoke(self, *, binding: str | None = None, sub: str | None = None,
                     idp_sid: str | None = None, sid: str | None = None) -> int:
        if sub is None and idp_sid is None and sid is None:
            raise ValueError("revoke needs a sub, an idp_sid or a sid")

        def matches(key: str, e: _Entry) -> bool:
            return ((binding is None or e.binding == binding) and (sub is None or e.sub == sub)
                    and (idp_sid is None or e.idp_sid == idp_sid) and (sid is None or key == sid))

        ended = [key for key, entry in self._entries.items() if matches(key, entry)]
        for key in ended:
            self._drop(key)
        return len(ended)

    async def close(self) -> None:
        self._entries.clear()
        self._tickets.clear()
        self._opened.clear()

    def _sweep(self, now: float) -> None:
        if now < self._next_sweep:
            return
        self._next_sweep = now + self._sweep_interval
        dead = [sid for sid, entry in self._entries.items() if entry.drop_at <= now]
        for sid in dead:
            self._drop(sid)
