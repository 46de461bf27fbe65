"""Authenticated encryption for everything albauth hands the browser to keep.

Token layout: version (1 byte) | key id (4 bytes) | nonce (12 bytes) | AES-256-GCM
ciphertext+tag. The version and key id are bound into the associated data; the key id
lets `open` go straight to the right key when several secrets are configured (rotation:
the first secret seals, every secret opens). Keys come from HKDF-SHA256 with the
purpose as info, so one configured secret yields unrelated keys for sessions and for
login state.
"""

from __future__ import annotations

import hashlib
import os
import secrets as _secrets
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from albauth.config.model import MIN_SECRET_LENGTH

__all__ = ["MIN_SECRET_LENGTH", "SealError", "Sealer", "generate_secret"]

_VERSION = b"\x01"
_KEY_ID_LEN = 4
_NONCE_LEN = 12
_HEADER_LEN = 1 + _KEY_ID_LEN
_MIN_TOKEN = _HEADER_LEN + _NONCE_LEN + 16
_SALT = b"albauth/sealer/v1"


class SealError(Exception):
    """A sealed token that does not open: truncated, tampered, foreign key or wrong aad."""


def generate_secret() -> str:
    """A new secret for the config: 256 random bits, urlsafe text (43 characters)."""
    return _secrets.token_urlsafe(32)


class Sealer:
    def __init__(self, secrets: Sequence[str], purpose: str) -> None:
        if isinstance(secrets, (str, bytes)):
            raise TypeError("secrets is a list of strings (newest first), not one string")
        if not secrets:
            raise ValueError("at least one secret is needed")
        if not purpose:
            raise ValueError("a purpose is needed to separate keys")
        self._keys: list[tuple[bytes, AESGCM]] = []
        for n, secret in enumerate(secrets, 1):
            if not isinstance(secret, str) or len(secret) < MIN_SECRET_LENGTH:
                raise ValueError(f"secret #{n} must be a string of at least "
                                 f"{MIN_SECRET_LENGTH} characters")
            key = HKDF(hashes.SHA256(), 32, _SALT, purpose.encode()).derive(secret.encode())
            key_id = hashlib.sha256(b"albauth/key-id\0" + key).digest()[:_KEY_ID_LEN]
            self._keys.append((key_id, AESGCM(key)))
        self._seal_header = _VERSION + self._keys[0][0]
        self._seal_aead = self._keys[0][1]

    def seal(self, plaintext: bytes, aad: bytes = b"") -> bytes:
        header = self._seal_header
        nonce = os.urandom(_NONCE_LEN)
        return header + nonce + self._seal_aead.encrypt(nonce, plaintext, header + aad)

    def open(self, token: bytes, aad: bytes = b"") -> bytes:
        if len(token) < _MIN_TOKEN:
            raise SealError("sealed token is truncated")
        if token[:1] != _VERSION:
            raise SealError("unknown sealed token version")
        header = token[:_HEADER_LEN]
        key_id = header[1:]
        nonce = token[_HEADER_LEN:_HEADER_LEN + _NONCE_LEN]
        ciphertext = token[_HEADER_LEN + _NONCE_LEN:]
        tried = False
        # Normally one match; a 32-bit key id collision between two secrets just means
        # trying both.
        for candidate_id, aead in self._keys:
            if candidate_id != key_id:
                continue
            tried = True
            try:
                return aead.decrypt(nonce, ciphertext, header + aad)
            except InvalidTag:
                continue
        raise SealError("sealed token does not authenticate" if tried
                        else "sealed under a key that is not configured")
