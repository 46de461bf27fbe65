"""The session ALB keeps for a logged-in user, and its compact wire form.

ALB's session holds the user claims, the access token, the refresh token and the session
expiry (spec 3). It has to fit 4 cookie shards (16 KB of base64) after sealing, and
tokens are big, so the serialised form uses short keys and is deflated when that helps.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Session", "binding_for", "new_sid"]

_FORMAT_JSON = b"j"
_FORMAT_DEFLATE = b"z"
# A session is at most ~12 KB sealed; anything inflating past this is not one of ours.
_MAX_PLAINTEXT = 256 * 1024
_DUMPS = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def new_sid() -> str:
    """128 random bits, as 32 hex digits: never starting with `-`, so `albauth sessions
    revoke --sid <sid>` takes it as a value, not as an option."""
    return secrets.token_hex(16)


def binding_for(cookie_name: str, issuer: str, client_id: str) -> str:
    """Which rules may use a session: those with the same SessionCookieName, Issuer and
    ClientId (the session's tokens were issued to that client by that issuer)."""
    digest = hashlib.sha256("\0".join((cookie_name, issuer, client_id)).encode()).digest()
    return digest[:12].hex()


@dataclass(frozen=True)
class Session:
    sid: str
    binding: str
    claims: Mapping[str, Any]  # the UserInfo JSON object, IdP key order preserved
    access_token: str
    refresh_token: str | None
    access_token_expires_at: float | None
    authenticated_at: float
    expires_at: float  # authenticated_at + SessionTimeout; a refresh never extends it
    idp_sid: str | None = None

    new_sid = staticmethod(new_sid)
    binding_for = staticmethod(binding_for)

    @property
    def sub(self) -> str:
        sub: str = self.claims["sub"]
        return sub

    def to_bytes(self) -> bytes:
        doc: dict[str, Any] = {"s": self.sid, "b": self.binding, "c": self.claims,
                               "a": self.access_token, "t": self.authenticated_at,
                               "e": self.expires_at}
        if self.refresh_token is not None:
            doc["r"] = self.refresh_token
        if self.access_token_expires_at is not None:
            doc["x"] = self.access_token_expires_at
        if self.idp_sid is not None:
            doc["i"] = self.idp_sid
        raw = _DUMPS(doc if isinstance(self.claims, dict) else {**doc, "c": dict(self.claims)})
        plain = raw.encode()
        # Raw deflate (no zlib header/checksum): the AEAD already guarantees integrity.
        packer = zlib.compressobj(6, zlib.DEFLATED, -15)
        packed = packer.compress(plain) + packer.flush()
        if len(packed) < len(plain):
            return _FORMAT_DEFLATE + packed
        return _FORMAT_JSON + plain

    @classmethod
    def from_bytes(cls, data: bytes) -> Session:
        """Raise ValueError on anything that is not a session written by `to_bytes`."""
        kind, body = data[:1], data[1:]
        if kind == _FORMAT_DEFLATE:
            unpacker = zlib.decompressobj(-15)
            try:
                body = unpacker.decompress(body, _MAX_PLAINTEXT)
            except zlib.error as exc:
                raise ValueError(f"session data does not inflate: {exc}") from exc
            if unpacker.unconsumed_tail or not unpacker.eof:
                raise ValueError("session data is truncated or too large")
        elif kind != _FORMAT_JSON:
            raise ValueError("unknown session format")
        try:
            doc = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ValueError("session data is not JSON") from exc
        if not isinstance(doc, dict):
            raise ValueError("session data is not a JSON object")
        try:
            session = cls(sid=doc["s"], binding=doc["b"], claims=doc["c"],
                          access_token=doc["a"], refresh_token=doc.get("r"),
                          access_token_expires_at=doc.get("x"), authenticated_at=doc["t"],
                          expires_at=doc["e"], idp_sid=doc.get("i"))
        except KeyError as exc:
            raise ValueError(f"session data lacks {exc}") from exc
        _check_types(session)
        return session


def _check_types(s: Session) -> None:
    def number(v: object) -> bool:
        return isinstance(v, (int, float)) and not isinstance(v, bool)

    ok = (isinstance(s.sid, str) and isinstance(s.binding, str) and isinstance(s.claims, dict)
          and isinstance(s.access_token, str)
          and (s.refresh_token is None or isinstance(s.refresh_token, str))
          and (s.access_token_expires_at is None or number(s.access_token_expires_at))
          and number(s.authenticated_at) and number(s.expires_at)
          and (s.idp_sid is None or isinstance(s.idp_sid, str)))
    if not ok:
        raise ValueError("session data has a field of the wrong type")
