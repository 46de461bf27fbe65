"""The provider's RS256 signing keys.

Rotation adds a key and keeps the old ones published, as real IdPs do: tokens signed
before the rotation stay verifiable, and relying parties must pick the key by `kid`
(albauth's JWKS cache is tested against exactly that).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from joserfc.jwk import KeySet, RSAKey

ALG = "RS256"


class KeyRing:
    def __init__(self, keys: list[RSAKey] | None = None) -> None:
        self._keys: list[RSAKey] = list(keys or [])
        if not self._keys:
            self.rotate()

    @classmethod
    def load_or_create(cls, path: str | os.PathLike[str]) -> KeyRing:
        """The keys saved in `path` (a private JWKS, oldest first), or a new key saved
        there (mode 0600): relying parties that cached the JWKS, and tokens minted before
        a restart, stay valid across restarts of `albauth dev`."""
        p = Path(path)
        if p.exists():
            doc = json.loads(p.read_text("utf-8"))
            return cls([RSAKey.import_key(k) for k in doc["keys"]])
        ring = cls()
        tmp = p.with_name(f".{p.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump({"keys": [k.as_dict(private=True) for k in ring._keys]}, f)
        os.replace(tmp, p)  # whole or not at all: a reader never sees half a file
        return ring

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
