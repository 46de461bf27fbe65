"""A value sealed into the session cookie shards, bound to the cookie name and rule binding."""

from __future__ import annotations

from collections.abc import Mapping

from albauth.session.cookies import decode_value, unshard
from albauth.session.errors import SessionInvalid
from albauth.session.sealing import Sealer, SealError

__all__ = ["open_sealed_cookie", "session_aad"]


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
