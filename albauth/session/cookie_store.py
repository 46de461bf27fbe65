"""Sessions kept entirely in the browser, sealed, as ALB keeps them."""

from __future__ import annotations

import base64
from collections.abc import Mapping

from albauth.session.cookies import CookiePolicy, replace_shards, unshard
from albauth.session.model import Session
from albauth.session.sealing import Sealer, SealError
from albauth.session.store import SessionInvalid, session_aad

__all__ = ["CookieSessionStore"]


class CookieSessionStore:
    """The shards hold standard base64 of the sealed session. Nothing is kept on the
    server, so `delete` cannot revoke: like ALB, a copied cookie stays valid until the
    session times out (spec 3.2)."""

    def __init__(self, sealer: Sealer) -> None:
        self._sealer = sealer

    async def load(self, cookies: Mapping[str, str], cookie_name: str,
                   binding: str) -> Session | None:
        value = unshard(cookies, cookie_name)
        if value is None:
            return None
        try:
            sealed = base64.b64decode(value, validate=True)
            session = Session.from_bytes(self._sealer.open(sealed, session_aad(cookie_name, binding)))
        except (ValueError, SealError) as exc:  # binascii.Error is a ValueError
            raise SessionInvalid(str(exc)) from exc
        if session.binding != binding:
            raise SessionInvalid("session belongs to another rule binding")
        return session

    async def save(self, session: Session, cookie_name: str, cookies: Mapping[str, str],
                   policy: CookiePolicy, now: float) -> list[str]:
        sealed = self._sealer.seal(session.to_bytes(), session_aad(cookie_name, session.binding))
        return replace_shards(cookie_name, base64.b64encode(sealed).decode("ascii"), cookies,
                              policy, now)

    async def delete(self, session: Session) -> None:
        return None

    async def close(self) -> None:
        return None
