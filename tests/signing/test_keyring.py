"""Signing keys: P-256 only, UUID kids derived from the key, files that survive restarts."""

from __future__ import annotations

import re
import stat
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

from albauth.signing import KeyRing, KeyRingError, SigningKey, kid_for

from .vectors import UUID_RE


def _write(path: Path, *keys: SigningKey) -> Path:
    path.write_bytes(b"".join(k.private_pem() for k in keys))
    return path


def test_kid_is_a_uuid5_of_the_public_key() -> None:
    key = SigningKey.generate()
    assert re.fullmatch(UUID_RE, key.kid)
    assert uuid.UUID(key.kid).version == 5
    assert kid_for(key.private_key.public_key()) == key.kid


def test_public_pem_is_what_alb_serves() -> None:
    pem = SigningKey.generate().public_pem()
    assert pem.startswith(b"-----BEGIN PUBLIC KEY-----\n")
    assert pem.endswith(b"-----END PUBLIC KEY-----\n")
    loaded = serialization.load_pem_public_key(pem)
    assert isinstance(loaded, ec.EllipticCurvePublicKey)
    assert isinstance(loaded.curve, ec.SECP256R1)


def test_same_pem_gives_the_same_kid_on_every_replica(tmp_path: Path) -> None:
    path = _write(tmp_path / "k.pem", SigningKey.generate())
    assert KeyRing.from_pem_files([path]).current.kid == KeyRing.from_pem_files([path]).current.kid


def test_load_or_create_keeps_the_kid_across_restarts(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "signing.pem"
    path.parent.mkdir()
    first = KeyRing.load_or_create(path)
    second = KeyRing.load_or_create(path)
    assert first.current.kid == second.current.kid
    assert first.public_pem(first.current.kid) == second.public_pem(first.current.kid)


def test_load_or_create_writes_a_private_file(tmp_path: Path) -> None:
    path = tmp_path / "signing.pem"
    KeyRing.load_or_create(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert [p.name for p in tmp_path.iterdir()] == ["signing.pem"]


def test_first_key_signs_the_others_are_served(tmp_path: Path) -> None:
    new, old = SigningKey.generate(), SigningKey.generate()
    ring = KeyRing.load_or_create(_write(tmp_path / "k.pem", new, old))
    assert ring.current.kid == new.kid
    assert ring.kids == [new.kid, old.kid]
    assert ring.public_pem(old.kid) == old.public_pem()
    assert ring.public_pem("nope") is None and ring.get("nope") is None


def test_from_pem_files_reads_several_files_in_order(tmp_path: Path) -> None:
    a, b, c = SigningKey.generate(), SigningKey.generate(), SigningKey.generate()
    ring = KeyRing.from_pem_files([_write(tmp_path / "a.pem", a, b), _write(tmp_path / "c.pem", c)])
    assert ring.kids == [a.kid, b.kid, c.kid] and ring.current.kid == a.kid


def test_traditional_ec_private_key_pem_is_accepted(tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    path = tmp_path / "k.pem"
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.TraditionalOpenSSL,
                                       serialization.NoEncryption()))
    assert KeyRing.from_pem_files([path]).current.kid == kid_for(key.public_key())


def test_jwks_lists_every_key_as_es256_ec_jwk() -> None:
    a, b = SigningKey.generate(), SigningKey.generate()
    jwks = KeyRing([a, b]).jwks()
    assert [k["kid"] for k in jwks["keys"]] == [a.kid, b.kid]
    jwk = jwks["keys"][0]
    assert {k: jwk[k] for k in ("kty", "crv", "alg", "use")} == {
        "kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig"}
    numbers = a.private_key.public_key().public_numbers()
    from albauth.signing import b64url_decode
    assert int.from_bytes(b64url_decode(jwk["x"]), "big") == numbers.x
    assert len(jwk["y"]) == 43


def test_current_kid_can_be_chosen() -> None:
    a, b = SigningKey.generate(), SigningKey.generate()
    assert KeyRing([a, b], b.kid).current is b
    with pytest.raises(KeyRingError):
        KeyRing([a], b.kid)
    with pytest.raises(KeyRingError):
        KeyRing([])


@pytest.mark.parametrize("make", [
    lambda: ec.generate_private_key(ec.SECP384R1()),
    lambda: rsa.generate_private_key(public_exponent=65537, key_size=1024),
], ids=["p384", "rsa"])
def test_a_non_p256_key_is_refused_naming_the_file(
        tmp_path: Path, make: Callable[[], PrivateKeyTypes]) -> None:
    path = tmp_path / "wrong.pem"
    path.write_bytes(make().private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    with pytest.raises(KeyRingError, match="P-256") as err:
        KeyRing.load_or_create(path)
    assert str(path) in str(err.value) and err.value.path == str(path)


def test_an_unreadable_file_is_refused_naming_the_file(tmp_path: Path) -> None:
    with pytest.raises(KeyRingError, match="cannot read") as err:
        KeyRing.from_pem_files([tmp_path])  # a directory
    assert str(tmp_path) in str(err.value)


@pytest.mark.parametrize("content", [
    b"", b"hello", b"-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----\n",
    b"-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n",
], ids=["empty", "text", "public-only", "bad-der"])
def test_a_bad_pem_is_refused_naming_the_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.pem"
    path.write_bytes(content)
    with pytest.raises(KeyRingError) as err:
        KeyRing.from_pem_files([path])
    assert str(err.value).startswith(f"{path}: ")


def test_an_encrypted_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "enc.pem"
    path.write_bytes(ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pw")))
    with pytest.raises(KeyRingError, match="encrypted"):
        KeyRing.from_pem_files([path])


def test_signing_key_refuses_other_curves() -> None:
    with pytest.raises(KeyRingError, match="P-256"):
        SigningKey("k", ec.generate_private_key(ec.SECP384R1()))
