"""The provider's RS256 signing keys.

Rotation adds a key and keeps the old ones published, as real IdPs do: tokens signed
before the rotation stay verifiable, and relying parties must pick the key by `kid`
(albauth's JWKS cache is tested against exactly that).
"""

from __future__ import annotations

from typing import Any

from joserfc.jwk import KeySet, RSAKey

ALG = "RS256"


class KeyRing:
    def __init__(self) -> None:
        self._keys: list[RSAKey] = []
        self.rotate()

    def rotate(self) -> str:
        """Make a new key the signing key; returns its kid."""
        key = RSAKey.generate_key(2048, parameters={"use": "sig", "alg": ALG}, auto_kid=True)
        self._keys.append(key)
        return self.kid

    @property
    def current(self) -> RSAKey:
        return self._keys[-1]

    @property
    def kid(self) -> str:
        kid = self.current.kid
        assert kid is not None  # generated with auto_kid
        return kid

    def header(self, **extra: str) -> dict[str, str]:
        return {"alg": ALG, "kid": self.kid, **extra}

    def public_keyset(self) -> KeySet:
        return KeySet([RSAKey.import_key(k.as_dict(private=False)) for k in self._keys])

    def jwks(self) -> dict[str, Any]:
        """The public JWKS document, newest key first."""
        return {"keys": [k.as_dict(private=False) for k in reversed(self._keys)]}
