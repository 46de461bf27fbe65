"""ALB's sharded session cookies: `<name>-0` .. `<name>-3`.

What ALB does (spec 3): one standard-base64 string (not URL-encoded) cut into
consecutive pieces, padding only at the very end; each full `Set-Cookie` line stays
within the 4096 bytes browsers keep; at most 4 shards (16 KB); `Expires` 7 days ahead
whatever the SessionTimeout (the real end is inside the sealed value); Secure, HttpOnly,
Path=/, no Domain; SameSite=None only for CORS requests.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from email.utils import formatdate
from functools import lru_cache

from albauth.session.errors import SessionTooLarge

__all__ = ["MAX_SET_COOKIE_LINE", "MAX_SHARDS", "CookiePolicy", "SessionTooLarge", "decode_value",
           "encode_value", "expire", "replace_shards", "session_shards", "shard", "shard_indices", "unshard"]

MAX_SHARDS = 4
# Counted over the whole `Set-Cookie: <value>` line, CRLF excluded.
MAX_SET_COOKIE_LINE = 4096
_LINE_PREFIX = len("Set-Cookie: ")
_EPOCH = "Thu, 01 Jan 1970 00:00:00 GMT"


@dataclass(frozen=True)
class CookiePolicy:
    secure: bool = True
    # Browsers drop `SameSite=None` cookies that are not Secure, so it is only sent
    # together with Secure.
    same_site_none: bool = False
    max_age: int = 604800  # ALB: 7 days, independent of SessionTimeout

    def attributes(self, expires: str, max_age: int) -> str:
        attrs = f"; Expires={expires}; Max-Age={max_age}; Path=/"
        if self.secure:
            attrs += "; Secure"
        attrs += "; HttpOnly"
        if self.secure and self.same_site_none:
            attrs += "; SameSite=None"
        return attrs


@lru_cache(maxsize=64)
def _shard_names(name: str) -> tuple[str, ...]:
    return tuple(f"{name}-{i}" for i in range(MAX_SHARDS))


def shard(name: str, value: str, policy: CookiePolicy, now: float) -> list[str]:
    """`Set-Cookie` header values carrying `value` in as few shards as possible."""
    attrs = policy.attributes(formatdate(now + policy.max_age, usegmt=True), policy.max_age)
    # `<name>-N=` + piece + attributes must fit; whole base64 quanta keep each piece
    # decodable on its own, as ALB's pieces are (its first piece is 3,984 characters).
    room = MAX_SET_COOKIE_LINE - _LINE_PREFIX - len(name) - len("-0=") - len(attrs)
    room -= room % 4
    if room <= 0:
        raise ValueError(f"cookie name {name!r} leaves no room for a value")
    count = max(1, -(-len(value) // room))
    if count > MAX_SHARDS:
        raise SessionTooLarge(f"session needs {count} cookies of {room} characters; "
                              f"ALB allows {MAX_SHARDS}")
    names = _shard_names(name)
    return [f"{names[i]}={value[i * room:(i + 1) * room]}{attrs}" for i in range(count)]


def expire(name: str, indices: Iterable[int], policy: CookiePolicy | None = None) -> list[str]:
    """`Set-Cookie` values deleting the given shards (same Path, so the browser matches
    them; the same Secure/SameSite when a policy is given)."""
    attrs = f"; Expires={_EPOCH}; Max-Age=0; Path=/"
    if policy is not None:
        attrs = policy.attributes(_EPOCH, 0)
    return [f"{name}-{i}={attrs}" for i in indices]


def unshard(cookies: Mapping[str, str], name: str) -> str | None:
    """Reassemble `<name>-0`, `-1`, ... up to the first missing one; None without `-0`.

    Runs on every request: dictionary lookups and one join."""
    names = _shard_names(name)
    first = cookies.get(names[0])
    if first is None:
        return None
    parts = [first]
    for shard_name in names[1:]:
        part = cookies.get(shard_name)
        if part is None:
            break
        parts.append(part)
    return first if len(parts) == 1 else "".join(parts)


def session_shards(cookie_header: str, name: str) -> dict[str, str] | None:
    """`<name>-0..3` from a Cookie header, without parsing (and building Morsels for) every
    other cookie the browser sends; None when the header has quoting, which only the full
    parser (aiohttp's `request.cookies`) handles. Runs on every authenticated request."""
    if '"' in cookie_header or "\\" in cookie_header:
        return None
    found: dict[str, str] = {}
    if name not in cookie_header:
        return found
    names = _shard_names(name)
    for part in cookie_header.split(";"):
        key, _, value = part.partition("=")
        key = key.strip()
        if key in names:
            found[key] = value.strip()  # the last one wins, as in request.cookies
    return found


def shard_indices(cookies: Mapping[str, str], name: str) -> list[int]:
    """Which of `<name>-0..3` the request carries, gaps included (all may need expiring)."""
    return [i for i, shard_name in enumerate(_shard_names(name)) if shard_name in cookies]


def replace_shards(name: str, value: str, cookies: Mapping[str, str], policy: CookiePolicy,
                   now: float) -> list[str]:
    """The new shards plus deletions of the shards the request carried beyond them, so a
    session that shrank (after a refresh) leaves no stale tail to be glued back on."""
    headers = shard(name, value, policy, now)
    stale = [i for i in shard_indices(cookies, name) if i >= len(headers)]
    return headers + expire(name, stale, policy) if stale else headers


def encode_value(data: bytes) -> str:
    """Standard base64: ALB's cookie alphabet, never URL-encoded."""
    return base64.b64encode(data).decode("ascii")


def decode_value(value: str) -> bytes:
    """Strict standard base64 (C-speed alphabet and padding checks); ValueError otherwise."""
    return binascii.a2b_base64(value, strict_mode=True)
