"""Sessions kept in this process; the cookie holds only a sealed ticket.

For single-replica and test setups: sessions die with the process. What it adds over the
cookie store is revocation (`delete`), ALB's missing logout (spec 3.2, "better").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from albauth.clock import Clock, system_clock
from albauth.session.cookies import (
    CookiePolicy,
    encode_value,
    replace_shards,
)
from albauth.session.model import Session
from albauth.session.sealing import Sealer
from albauth.session.store import SessionInvalid, open_sealed_cookie, session_aad

__all__ = ["MemorySessionStore"]


class MemorySessionStore:
    """Sessions by sid. The ticket (the sid, sealed with the cookie name and binding as
    associated data) cannot be forged or moved to another rule.

    An entry outlives `expires_at` until the cookie carrying it would have expired in the
    browser: `load` must still return an expired session (the caller answers it with a
    re-authentication, which differs from "no session" under `deny`), exactly as the
    cookie store does. Expired entries are swept lazily."""

    def __init__(self, sealer: Sealer, clock: Clock = system_clock, *,
                 sweep_interval: float = 60.0) -> None:
        self._sealer = sealer
        self._clock = clock
        self._sweep_interval = sweep_interval
        self._next_sweep = 0.0
        self._entries: dict[str, tuple[Session, float]] = {}  # sid -> (session, drop_at)

    def __len__(self) -> int:
        return len(self._entries)

    async def load(self, cookies: Mapping[str, str], cookie_name: str,
                   binding: str) -> Session | None:
        ticket = open_sealed_cookie(self._sealer, cookies, cookie_name, binding)
        if ticket is None:
            return None
        try:
            sid = ticket.decode("ascii")
        except UnicodeDecodeError as exc:
            raise SessionInvalid(str(exc)) from exc
        entry = self._entries.get(sid)
        if entry is None or entry[1] <= self._clock():
            self._entries.pop(sid, None)
            raise SessionInvalid("no such session (revoked or swept)")
        session = entry[0]
        if session.binding != binding:
            raise SessionInvalid("session belongs to another rule binding")
        return session

    async def save(self, session: Session, cookie_name: str, cookies: Mapping[str, str],
                   policy: CookiePolicy, now: float) -> list[str]:
        self._sweep(now)
        self._entries[session.sid] = (session, max(session.expires_at, now + policy.max_age))
        ticket = self._sealer.seal(session.sid.encode("ascii"),
                                   session_aad(cookie_name, session.binding))
        return replace_shards(cookie_name, encode_value(ticket), cookies,
                              policy, now)

    async def delete(self, session: Session) -> None:
        self._entries.pop(session.sid, None)

    def revoke_matching(self, matches: Callable[[Session], bool]) -> int:
        """End every session `matches` selects (back-channel logout); how many ended."""
        ended = [sid for sid, (session, _) in self._entries.items() if matches(session)]
        for sid in ended:
            del self._entries[sid]
        return len(ended)

    async def close(self) -> None:
        self._entries.clear()

    def _sweep(self, now: float) -> None:
        if now < self._next_sweep:
            return
        self._next_sweep = now + self._sweep_interval
        dead = [sid for sid, (_, drop_at) in self._entries.items() if drop_at <= now]
        for sid in dead:
            del self._entries[sid]
