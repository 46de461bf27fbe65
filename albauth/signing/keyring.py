"""The P-256 keys that sign `x-amzn-oidc-data`, and the ring that serves them by kid.

ALB names its keys with UUIDs (aws-jwt-verify refuses anything else) and serves each one
as a PEM SubjectPublicKeyInfo at `public-keys.auth.elb.<region>.amazonaws.com/<kid>`.
Our kids are derived from the public key itself, so every replica given the same PEM
file serves the same kid and a restart keeps it: no kid has to be stored or agreed on.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

__all__ = ["KeyRing", "KeyRingError", "SigningKey", "kid_for"]

# A fixed namespace: changing it would change every deployed kid.
KID_NAMESPACE = uuid.UUID("5b0e4c1e-8f3a-4d2b-9a61-a1ba07a1b0e5")

_PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----.*?-----END \1-----", re.DOTALL)


class KeyRingError(Exception):
    """A key file that cannot be used; the message names the file and the reason."""

    def __init__(self, reason: str, path: str | os.PathLike[str] | None = None) -> None:
        self.path = None if path is None else os.fspath(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}" if self.path else reason)


def _spki_der(public_key: ec.EllipticCurvePublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.DER,
                                   serialization.PublicFormat.SubjectPublicKeyInfo)


def kid_for(public_key: ec.EllipticCurvePublicKey) -> str:
    """uuid5(KID_NAMESPACE, DER SubjectPublicKeyInfo): stable across replicas and restarts."""
    # uuid.uuid5 only takes str names before Python 3.12; this is its exact algorithm.
    digest = hashlib.sha1(KID_NAMESPACE.bytes + _spki_der(public_key)).digest()
    return str(uuid.UUID(bytes=digest[:16], version=5))


def _b64url_int(n: int) -> str:
    return base64.urlsafe_b64encode(n.to_bytes(32, "big")).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class SigningKey:
    """One ES256 key. ALB only ever uses P-256, so nothing else is accepted."""

    kid: str
    private_key: ec.EllipticCurvePrivateKey
    _public_pem: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.private_key, ec.EllipticCurvePrivateKey) or not isinstance(
                self.private_key.curve, ec.SECP256R1):
            raise KeyRingError("not an EC P-256 (secp256r1) private key")
        pem = self.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        object.__setattr__(self, "_public_pem", pem)

    @classmethod
    def from_private_key(cls, private_key: ec.EllipticCurvePrivateKey) -> SigningKey:
        if not isinstance(private_key, ec.EllipticCurvePrivateKey):
            raise KeyRingError("not an EC P-256 (secp256r1) private key")
        return cls(kid_for(private_key.public_key()), private_key)

    @classmethod
    def generate(cls) -> SigningKey:
        return cls.from_private_key(ec.generate_private_key(ec.SECP256R1()))

    def public_pem(self) -> bytes:
        """`-----BEGIN PUBLIC KEY-----` SubjectPublicKeyInfo, as ALB's key endpoint serves it."""
        return self._public_pem

    def private_pem(self) -> bytes:
        return self.private_key.private_bytes(serialization.Encoding.PEM,
                                              serialization.PrivateFormat.PKCS8,
                                              serialization.NoEncryption())

    def jwk(self) -> dict[str, Any]:
        numbers = self.private_key.public_key().public_numbers()
        return {"kty": "EC", "crv": "P-256", "x": _b64url_int(numbers.x),
                "y": _b64url_int(numbers.y), "kid": self.kid, "alg": "ES256", "use": "sig"}


class KeyRing:
    """The current signing key plus older ones still served so in-flight tokens verify."""

    def __init__(self, keys: Iterable[SigningKey], current_kid: str | None = None) -> None:
        self._keys: dict[str, SigningKey] = {}
        for key in keys:
            self._keys.setdefault(key.kid, key)
        if not self._keys:
            raise KeyRingError("a key ring needs at least one key")
        if current_kid is None:
            current_kid = next(iter(self._keys))
        if current_kid not in self._keys:
            raise KeyRingError(f"current kid {current_kid!r} is not in the ring")
        self._current = self._keys[current_kid]

    @property
    def current(self) -> SigningKey:
        return self._current

    @property
    def kids(self) -> list[str]:
        return list(self._keys)

    def get(self, kid: str) -> SigningKey | None:
        return self._keys.get(kid)

    def public_pem(self, kid: str) -> bytes | None:
        key = self._keys.get(kid)
        return None if key is None else key.public_pem()

    def jwks(self) -> dict[str, Any]:
        return {"keys": [key.jwk() for key in self._keys.values()]}

    @classmethod
    def generate(cls) -> KeyRing:
        """A fresh single-key ring (tests, throwaway dev runs: the kid changes every start)."""
        return cls([SigningKey.generate()])

    @classmethod
    def from_pem_files(cls, paths: Sequence[str | os.PathLike[str]]) -> KeyRing:
        """All private keys in `paths`, in order; the very first one signs."""
        keys: list[SigningKey] = []
        for path in paths:
            keys.extend(_read_keys(Path(path)))
        if not keys:
            raise KeyRingError("no key files given")
        return cls(keys)

    @classmethod
    def load_or_create(cls, path: str | os.PathLike[str]) -> KeyRing:
        """Load `path`, or create it (mode 0600, one new key) when it does not exist yet.

        Rotation: prepend a new key to the file; the old ones stay and are still served."""
        p = Path(path)
        if not p.exists():
            _create_key_file(p)
        return cls(_read_keys(p))


def _read_keys(path: Path) -> list[SigningKey]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise KeyRingError(f"cannot read key file: {exc.strerror or exc}", path) from exc
    blocks = [m.group(0) for m in _PEM_BLOCK.finditer(data)
              if m.group(1).endswith(b"PRIVATE KEY")]
    if not blocks:
        raise KeyRingError("no PEM private key found (expected '-----BEGIN PRIVATE KEY-----' "
                           "or '-----BEGIN EC PRIVATE KEY-----')", path)
    keys = []
    for n, block in enumerate(blocks, 1):
        try:
            private_key = serialization.load_pem_private_key(block, password=None)
        except TypeError as exc:  # encrypted key, no password
            raise KeyRingError(f"key #{n} is encrypted; albauth needs an unencrypted key",
                               path) from exc
        except ValueError as exc:
            raise KeyRingError(f"key #{n} is not a valid PEM private key ({exc})", path) from exc
        if not isinstance(private_key, ec.EllipticCurvePrivateKey) or not isinstance(
                private_key.curve, ec.SECP256R1):
            kind = type(private_key).__name__.lstrip("_")
            curve = getattr(getattr(private_key, "curve", None), "name", None)
            raise KeyRingError(f"key #{n} is {curve or kind}; ALB signs with EC P-256 "
                               "(secp256r1) only", path)
        keys.append(SigningKey.from_private_key(private_key))
    return keys


def _create_key_file(path: Path) -> None:
    """Write a new key so that no reader ever sees a half-written file and two replicas
    starting together agree on one key: write a private temp file, then link it into
    place (link fails if someone else won the race, and then we use their key)."""
    pem = SigningKey.generate().private_pem()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise KeyRingError(f"cannot create key file: {exc.strerror or exc}", path) from exc
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        except OSError as exc:
            raise KeyRingError(f"cannot create key file: {exc.strerror or exc}", path) from exc
    finally:
        tmp.unlink(missing_ok=True)
