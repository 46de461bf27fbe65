"""The one interface every session store implements.

A store turns the request's cookies into a `Session` and back into `Set-Cookie` values.
The cookie store keeps the whole sealed session in the cookies, as ALB does; server-side
stores (memory, Redis) keep a sealed ticket there and the session on the server, which
makes revocation possible. Every store passes tests/session/conformance.py.

Failures are typed (albauth.session.errors): `SessionInvalid` is a verdict on the cookie,
every `SessionStoreError` a failure of the store.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from albauth.session.cookies import CookiePolicy
from albauth.session.model import Session

__all__ = ["SessionStore"]


class SessionStore(Protocol):
    #: False where the browser holds the only copy (the cookie store): `revoke` raises
    #: RevocationUnsupported and `delete` only forgets.
    can_revoke: bool

    async def load(self, cookies: Mapping[str, str], cookie_name: str,
                   binding: str) -> Session | None:
        """None when the request carries no `<cookie_name>-0`; SessionInvalid when it
        carries cookies that do not yield a session for `binding`. `expires_at` is not
        checked: an expired session is the caller's to judge (ALB re-authenticates it
        even under `deny`, unlike a missing one)."""
        ...

    async def save(self, session: Session, cookie_name: str, cookies: Mapping[str, str],
                   policy: CookiePolicy, now: float) -> list[str]:
        """`Set-Cookie` values: the new shards, plus deletion of shards in `cookies` that
        are no longer needed. A re-save of a session that was revoked meanwhile does not
        bring it back: the cookies are expired instead."""
        ...

    async def delete(self, session: Session) -> None:
        """Revoke server-side; a no-op where the cookie is the only copy."""
        ...

    async def revoke(self, *, binding: str | None = None, sub: str | None = None,
                     idp_sid: str | None = None, sid: str | None = None) -> int:
        """End every session matching all the given selectors (at least one of sub,
        idp_sid, sid); how many ended. `binding` narrows to one rule binding (a
        back-channel logout token speaks for one client)."""
        ...

    async def close(self) -> None:
        ...
