"""The format of one session as Redis stores it, and the digests its indexes use.

    0x01 | header length (2 bytes) | clear JSON header | nonce | AES-256-GCM(session bytes)

The header, {"b": binding, "t": authenticated_at, "e": expires_at, "u": sub digest,
"i": IdP sid digest}, is what an operator may list without tickets; it is authenticated
with the ciphertext, and so is the sid. The key is derived (HKDF, the sid as info) from
the ticket's per-session secret, which is never written to Redis: a dump of Redis alone
yields no tokens and no claims.

Digests are SHA-256 (first 128 bits, hex) of the `sub` / IdP `sid`, so a dump does not
list users; they are fingerprints, not secrets (whoever knows a `sub` can find its set).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from albauth.session.model import Session

__all__ = ["StoredHeader", "digest", "open_value", "read_header", "seal_value"]

_VERSION = b"\x01"
_NONCE_LEN = 12
_HKDF_SALT = b"albauth/redis-session/v1"


def digest(value: str) -> str:
    """The index fingerprint of a `sub` or IdP `sid`."""
    return hashlib.sha256(b"albauth/index\0" + value.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class StoredHeader:
    """The clear part of a stored session."""

    binding: str
    authenticated_at: float
    expires_at: float
    sub_digest: str
    idp_sid_digest: str | None
    end: int  # where the header ends in the stored bytes


def _aead(secret: bytes, sid: str) -> AESGCM:
    # The sid as HKDF info: each session's key is its own even if a secret repeated.
    return AESGCM(HKDF(hashes.SHA256(), 32, _HKDF_SALT, sid.encode()).derive(secret))


def seal_value(secret: bytes, session: Session) -> bytes:
    meta: dict[str, Any] = {"b": session.binding, "t": session.authenticated_at,
                            "e": session.expires_at, "u": digest(session.sub)}
    if session.idp_sid is not None:
        meta["i"] = digest(session.idp_sid)
    header = json.dumps(meta, separators=(",", ":")).encode()
    head = _VERSION + len(header).to_bytes(2, "big") + header
    nonce = os.urandom(_NONCE_LEN)
    return head + nonce + _aead(secret, session.sid).encrypt(nonce, session.to_bytes(), head + session.sid.encode())


def read_header(stored: bytes) -> StoredHeader:
    """The clear header; ValueError if this is not our format."""
    if stored[:1] != _VERSION or len(stored) < 3:
        raise ValueError("unknown stored session format")
    end = 3 + int.from_bytes(stored[1:3], "big")
    if len(stored) < end + _NONCE_LEN + 16:
        raise ValueError("stored session is truncated")
    meta = json.loads(stored[3:end])
    if not isinstance(meta, dict):
        raise ValueError("stored session header is not an object")
    try:
        idp = meta.get("i")
        return StoredHeader(binding=str(meta["b"]), authenticated_at=float(meta["t"]),
                            expires_at=float(meta["e"]), sub_digest=str(meta["u"]),
                            idp_sid_digest=idp if isinstance(idp, str) else None, end=end)
    except (KeyError, TypeError) as exc:
        raise ValueError(f"stored session header lacks {exc}") from exc


def open_value(secret: bytes, sid: str, stored: bytes) -> bytes:
    """The session bytes; ValueError if they do not decrypt under this ticket."""
    end = read_header(stored).end
    nonce, ciphertext = stored[end:end + _NONCE_LEN], stored[end + _NONCE_LEN:]
    try:
        return _aead(secret, sid).decrypt(nonce, ciphertext, stored[:end] + sid.encode())
    except InvalidTag as exc:
        raise ValueError("stored session does not decrypt with this ticket") from exc
