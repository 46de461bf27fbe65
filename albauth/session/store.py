"""The one interface every session store implements, and what they share.

A store turns the request's cookies into a `Session` and back into `Set-Cookie` values.
The cookie store keeps the whole sealed session in the cookies, as ALB does; server-side
stores (memory, Redis) keep a sealed ticket there and the session on the server, which
makes revocation possible. Every store must pass tests/session/conformance.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, runtime_checkable

from albauth.session.cookies import CookiePolicy, decode_value, unshard
from albauth.session.model import Session
from albauth.session.sealing import Sealer, SealError

__all__ = ["SessionInvalid", "SessionStore", "open_sealed_cookie", "session_aad"]


class SessionInvalid(Exception):
    """Session cookies are present but unusable: tampered, truncated, minted for another
    rule binding, or naming a session the server no longer has. The caller treats it as
    "log in again" (and expires the cookies)."""


@runtime_checkable
class SessionStore(Protocol):
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
        are no longer needed."""
        ...

    async def delete(self, session: Session) -> None:
        """Revoke server-side; a no-op where the cookie is the only copy."""
        ...

    async def close(self) -> None:
        ...


def session_aad(cookie_name: str, binding: str) -> bytes:
    """Associated data for a sealed session or ticket: a cookie minted for one cookie name
    or rule binding does not open under another (spec checklist 39)."""
    return f"albauth/session\0{cookie_name}\0{binding}".encode()


def open_sealed_cookie(sealer: Sealer, cookies: Mapping[str, str], cookie_name: str,
                       binding: str) -> bytes | None:
    """What the request's `<cookie_name>-0..3` shards carry, unsealed: None without shards,
    SessionInvalid when they are not one valid sealed value for this name and binding."""
    value = unshard(cookies, cookie_name)
    if value is None:
        return None
    try:
        return sealer.open(decode_value(value), session_aad(cookie_name, binding))
    except (ValueError, SealError) as exc:  # binascii.Error is a ValueError
        raise SessionInvalid(str(exc)) from exc
