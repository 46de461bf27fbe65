"""Sessions kept entirely in the browser, sealed, as ALB keeps them."""

from __future__ import annotations

from collections.abc import Mapping

from albauth.lru import Lru
from albauth.session.cookies import (
    CookiePolicy,
    decode_value,
    encode_value,
    replace_shards,
    unshard,
)
from albauth.session.errors import RevocationUnsupported, SessionInvalid
from albauth.session.model import Session
from albauth.session.sealed_cookie import session_aad
from albauth.session.sealing import Sealer, SealError

__all__ = ["CookieSessionStore"]


class CookieSessionStore:
    """The shards hold standard base64 of the sealed session. Nothing is kept on the
    server, so `delete` cannot revoke: like ALB, a copied cookie stays valid until the
    session times out (spec 3.2).

    A browser sends the same cookie on every request, and opening a 9 KB-token session
    costs ~70 µs (base64, AES-GCM, inflate, JSON), so the last `cache_size` sessions that
    opened are remembered by their exact (cookie name, binding, value); only values that
    authenticated get in. Sessions are shared between requests: treat them as read-only.
    """

    can_revoke = False

    def __init__(self, sealer: Sealer, *, cache_size: int = 256) -> None:
        self._sealer = sealer
        self._cache: Lru[tuple[str, str, str], Session] = Lru(cache_size)

    async def load(self, cookies: Mapping[str, str], cookie_name: str,
                   binding: str) -> Session | None:
        value = unshard(cookies, cookie_name)
        if value is None:
            return None
        key = (cookie_name, binding, value)
        session = self._cache.get(key)
        if session is not None:
            return session
        try:
            sealed = decode_value(value)
            plaintext = self._sealer.open(sealed, session_aad(cookie_name, binding))
            session = Session.from_bytes(plaintext)
        except (ValueError, SealError) as exc:  # binascii.Error is a ValueError
            raise SessionInvalid(str(exc)) from exc
        if session.binding != binding:
            raise SessionInvalid("session belongs to another rule binding")
        self._cache[key] = session
        return session

    async def save(self, session: Session, cookie_name: str, cookies: Mapping[str, str],
                   policy: CookiePolicy, now: float) -> list[str]:
        sealed = self._sealer.seal(session.to_bytes(), session_aad(cookie_name, session.binding))
        return replace_shards(cookie_name, encode_value(sealed), cookies,
                              policy, now)

    async def delete(self, session: Session) -> None:
        return None

    async def revoke(self, *, binding: str | None = None, sub: str | None = None,
                     idp_sid: str | None = None, sid: str | None = None) -> int:
        raise RevocationUnsupported("the cookie session store keeps no session on the server, so there "
                                    "is nothing to revoke: use the memory or Redis store")

    async def close(self) -> None:
        self._cache.clear()
