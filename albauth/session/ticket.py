"""The ticket that server-side stores (memory, Redis) put in the session cookie instead of
the session: the sid and a random per-session secret, sealed with the cookie name and rule
binding as associated data, so it can be neither forged nor moved to another rule.

The Redis store encrypts the stored session under the secret, which is never written to
Redis. The memory store needs no secret (its sessions never leave the process): its
tickets carry the sid alone, which keeps its cookie small."""

from __future__ import annotations

import secrets
import struct
from collections.abc import Mapping
from dataclasses import dataclass

from albauth.lru import Lru
from albauth.session.cookies import encode_value, unshard
from albauth.session.errors import SessionInvalid
from albauth.session.sealed_cookie import open_sealed_cookie, session_aad
from albauth.session.sealing import Sealer

__all__ = ["SECRET_LEN", "OpenedTickets", "Ticket", "open_ticket", "seal_ticket"]

_WITH_SECRET = b"\x01"  # secret | sid (written before the end went in; still read)
_SID_ONLY = b"\x02"  # sid
_WITH_END = b"\x03"  # secret | end (8-byte IEEE double, epoch seconds) | sid
SECRET_LEN = 32
_END = struct.Struct(">d")


@dataclass(frozen=True)
class Ticket:
    sid: str
    secret: bytes = b""  # empty: a sid-only ticket
    #: When the session ends (`Session.expires_at`): the Redis entry goes then, the
    #: cookie lives on (ALB's 7 days) and must still read as "ended", not "unknown".
    ends_at: float | None = None

    @classmethod
    def new(cls, sid: str) -> Ticket:
        return cls(sid, secrets.token_bytes(SECRET_LEN))


def seal_ticket(sealer: Sealer, ticket: Ticket, cookie_name: str, binding: str) -> str:
    """The cookie value (standard base64, as ALB's cookies) carrying the ticket."""
    assert len(ticket.secret) in (0, SECRET_LEN)
    if ticket.secret and ticket.ends_at is not None:
        head = _WITH_END + ticket.secret + _END.pack(ticket.ends_at)
    else:
        head = _WITH_SECRET + ticket.secret if ticket.secret else _SID_ONLY
    sealed = sealer.seal(head + ticket.sid.encode("ascii"), session_aad(cookie_name, binding))
    return encode_value(sealed)


def open_ticket(sealer: Sealer, cookies: Mapping[str, str], cookie_name: str,
                binding: str) -> Ticket | None:
    """None without shards; SessionInvalid when they do not carry a ticket for this name
    and binding."""
    raw = open_sealed_cookie(sealer, cookies, cookie_name, binding)
    if raw is None:
        return None
    # Sealed by us, so only a ticket from another format version can fail here.
    kind = raw[:1]
    secret_len = {_WITH_SECRET: SECRET_LEN, _SID_ONLY: 0, _WITH_END: SECRET_LEN}.get(kind)
    end_len = _END.size if kind == _WITH_END else 0
    start = 1 + secret_len + end_len if secret_len is not None else 0
    if secret_len is None or len(raw) <= start:
        raise SessionInvalid("unknown ticket format")
    try:
        sid = raw[start:].decode("ascii")
    except UnicodeDecodeError as exc:
        raise SessionInvalid("unknown ticket format") from exc
    ends_at = _END.unpack_from(raw, 1 + secret_len)[0] if end_len else None
    return Ticket(sid, raw[1:1 + secret_len], ends_at)


class OpenedTickets:
    """`open_ticket` remembered by the exact (cookie name, binding, cookie value): a browser
    sends the same ticket on every request, and unsealing it (base64, AES-GCM) is most of
    what a cached Redis session still costs. Only values that opened get in."""

    def __init__(self, sealer: Sealer, size: int = 4096) -> None:
        self._sealer = sealer
        self._opened: Lru[tuple[str, str, str], Ticket] = Lru(size)

    def open(self, cookies: Mapping[str, str], cookie_name: str, binding: str) -> Ticket | None:
        value = unshard(cookies, cookie_name)
        if value is None:
            return None
        key = (cookie_name, binding, value)
        ticket = self._opened.get(key)
        if ticket is None:
            ticket = open_ticket(self._sealer, cookies, cookie_name, binding)
            if ticket is not None:
                self._opened[key] = ticket
        return ticket

    def clear(self) -> None:
        self._opened.clear()
