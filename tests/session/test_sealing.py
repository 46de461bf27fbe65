"""AES-256-GCM sealing: rotation, purposes, and nothing but SealError on bad input."""

from __future__ import annotations

import pytest

from albauth.session import MIN_SECRET_LENGTH, Sealer, SealError, generate_secret

from .helpers import OLD_SECRET, SECRET


def test_round_trip_with_aad() -> None:
    sealer = Sealer([SECRET], "session")
    assert sealer.open(sealer.seal(b"hello", b"ctx"), b"ctx") == b"hello"
    assert sealer.open(sealer.seal(b"")) == b""


def test_sealing_is_randomised() -> None:
    sealer = Sealer([SECRET], "session")
    assert sealer.seal(b"same") != sealer.seal(b"same")


def test_overhead_is_33_bytes() -> None:
    # version 1 + key id 4 + nonce 12 + tag 16: every byte counts in 4 cookie shards.
    assert len(Sealer([SECRET], "session").seal(b"x" * 100)) == 133


def test_sealed_under_the_old_secret_opens_after_rotation() -> None:
    token = Sealer([OLD_SECRET], "session").seal(b"data")
    rotated = Sealer([SECRET, OLD_SECRET], "session")
    assert rotated.open(token) == b"data"
    # ... and new tokens are sealed under the new secret alone.
    assert Sealer([SECRET], "session").open(rotated.seal(b"new")) == b"new"


def test_a_retired_secret_no_longer_opens() -> None:
    token = Sealer([OLD_SECRET], "session").seal(b"data")
    with pytest.raises(SealError, match="not configured"):
        Sealer([SECRET], "session").open(token)


def test_every_tampered_byte_fails() -> None:
    sealer = Sealer([SECRET], "session")
    token = sealer.seal(b"0123456789", b"aad")
    for i in range(len(token)):
        bad = token[:i] + bytes([token[i] ^ 0x01]) + token[i + 1:]
        with pytest.raises(SealError):
            sealer.open(bad, b"aad")


def test_wrong_purpose_fails() -> None:
    token = Sealer([SECRET], "session").seal(b"data")
    with pytest.raises(SealError):
        Sealer([SECRET], "login-state").open(token)


def test_wrong_aad_fails() -> None:
    sealer = Sealer([SECRET], "session")
    with pytest.raises(SealError):
        sealer.open(sealer.seal(b"data", b"rule-a"), b"rule-b")


@pytest.mark.parametrize("cut", [0, 1, 5, 17, 32])
def test_truncated_fails(cut: int) -> None:
    sealer = Sealer([SECRET], "session")
    with pytest.raises(SealError):
        sealer.open(sealer.seal(b"")[:cut])


def test_unknown_version_fails() -> None:
    sealer = Sealer([SECRET], "session")
    with pytest.raises(SealError, match="version"):
        sealer.open(b"\x02" + sealer.seal(b"data")[1:])


@pytest.mark.parametrize("secrets", [["x" * (MIN_SECRET_LENGTH - 1)], [SECRET, "short"], []])
def test_short_or_missing_secrets_are_refused(secrets: list[str]) -> None:
    with pytest.raises(ValueError):
        Sealer(secrets, "session")


def test_a_bare_string_is_not_a_list_of_secrets() -> None:
    with pytest.raises(TypeError):
        Sealer(SECRET, "session")


def test_generated_secrets_are_long_and_distinct() -> None:
    a, b = generate_secret(), generate_secret()
    assert len(a) >= MIN_SECRET_LENGTH and a != b
    Sealer([a], "session")
