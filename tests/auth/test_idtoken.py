"""The pure ID token checks: every allowed algorithm family, JWKS import, key choice."""

from __future__ import annotations

import json
import warnings
from typing import Any

import pytest
from joserfc import jws
from joserfc.errors import SecurityWarning
from joserfc.jwk import ECKey, Key, OctKey, OKPKey, RSAKey

from albauth.auth.errors import InvalidIdToken
from albauth.auth.idtoken import (
    ALLOWED_ALGORITHMS,
    UnknownKeyId,
    check_claims,
    import_jwks,
    peek,
    verify_signature,
)

CLAIMS = {"iss": "https://op.example", "aud": "rp", "sub": "u", "exp": 2_000}


def sign(key: Any, alg: str, kid: str | None = None) -> str:
    header = {"alg": alg, **({"kid": kid} if kid else {})}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SecurityWarning)  # EdDSA; verifying must not warn
        return jws.serialize_compact(header, json.dumps(CLAIMS), key, algorithms=[alg])


def public_jwks(*keys: Any, **params: Any) -> list[Key]:
    return import_jwks({"keys": [k.as_dict(private=False, **params) for k in keys]})


def test_no_symmetric_or_unsigned_algorithm_is_allowed() -> None:
    assert "none" not in ALLOWED_ALGORITHMS
    assert not [alg for alg in ALLOWED_ALGORITHMS if alg.startswith("HS")]


@pytest.mark.parametrize(("key", "alg"), [
    (RSAKey.generate_key(2048), "RS512"),
    (RSAKey.generate_key(2048), "PS256"),
    (ECKey.generate_key("P-256"), "ES256"),
    (ECKey.generate_key("P-384"), "ES384"),
    (OKPKey.generate_key("Ed25519"), "EdDSA"),
])
def test_each_asymmetric_family_verifies(key: Any, alg: str) -> None:
    verify_signature(sign(key, alg, kid="k1"), public_jwks(key, kid="k1"))


def test_a_token_without_kid_is_tried_against_every_key() -> None:
    right, other = ECKey.generate_key("P-256"), RSAKey.generate_key(2048)
    verify_signature(sign(right, "ES256"), public_jwks(other, right))


def test_a_kid_missing_from_the_set_asks_for_a_refetch() -> None:
    key = RSAKey.generate_key(2048)
    with pytest.raises(UnknownKeyId):
        verify_signature(sign(key, "RS256", kid="new"), public_jwks(key, kid="old"))


def test_a_key_pinned_to_another_alg_is_not_used() -> None:
    key = RSAKey.generate_key(2048)
    with pytest.raises(InvalidIdToken):
        verify_signature(sign(key, "PS256", kid="k1"), public_jwks(key, kid="k1", alg="RS256"))


def test_jwks_import_skips_encryption_symmetric_and_unknown_keys() -> None:
    sig = RSAKey.generate_key(2048)
    keys = import_jwks({"keys": [
        RSAKey.generate_key(2048).as_dict(private=False, use="enc"),
        OctKey.generate_key(256).as_dict(),
        {"kty": "ML-DSA", "kid": "pq"},
        "not-a-key",
        sig.as_dict(private=False, kid="sig"),
    ]})
    assert [k.kid for k in keys] == ["sig"]


@pytest.mark.parametrize("document", [None, [], {"keys": "x"}, {}])
def test_a_document_that_is_not_a_jwk_set_is_refused(document: Any) -> None:
    with pytest.raises(ValueError):
        import_jwks(document)


def test_peek_reads_without_verifying() -> None:
    header, claims = peek(sign(RSAKey.generate_key(2048), "RS256", kid="k1"))
    assert header["kid"] == "k1" and claims == CLAIMS


def test_claims_pass_and_nbf_in_the_future_fails() -> None:
    check_claims(CLAIMS, issuer="https://op.example", client_id="rp", now=1_000)
    with pytest.raises(InvalidIdToken, match="not valid yet"):
        check_claims({**CLAIMS, "nbf": 1_100}, issuer="https://op.example", client_id="rp",
                     now=1_000)
    check_claims({**CLAIMS, "nbf": 1_050}, issuer="https://op.example", client_id="rp",
                 now=1_000)  # within the leeway


def test_iat_in_the_future_beyond_the_leeway_fails() -> None:
    # OIDC Core 3.1.3.7 step 10: a token issued an hour from now is not believable.
    with pytest.raises(InvalidIdToken, match="issued in the future"):
        check_claims({**CLAIMS, "iat": 1_061}, issuer="https://op.example", client_id="rp",
                     now=1_000)
    check_claims({**CLAIMS, "iat": 1_060}, issuer="https://op.example", client_id="rp",
                 now=1_000)  # within the leeway


@pytest.mark.parametrize("sub", [None, "", 42])
def test_sub_is_required(sub: object) -> None:
    claims = {k: v for k, v in {**CLAIMS, "sub": sub}.items() if v is not None}
    with pytest.raises(InvalidIdToken, match="no sub"):
        check_claims(claims, issuer="https://op.example", client_id="rp", now=1_000)
