"""ID token checks (OIDC Core 3.1.3.7), as pure functions: no I/O, no clock of their own.

ALB validates the ID token it gets from the token endpoint but documents neither how
nor against which keys (it is not given a JWKS URI and may rely on TLS, spec 2.5). We
check the claims always, and the signature whenever the provider's JWKS is known.

JOSE is done with joserfc, the successor Authlib itself points to (`authlib.jose` is
deprecated in Authlib 1.9 and goes away in 2.0; joserfc is Authlib's own dependency).
"""

from __future__ import annotations

import base64
import binascii
import json
import warnings
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from joserfc import jws
from joserfc.errors import JoseError, SecurityWarning
from joserfc.jwk import JWKRegistry, Key

from albauth.auth.errors import InvalidIdToken

#: Asymmetric algorithms only. `none` is never acceptable, and an HMAC alg would let
#: anyone holding the *public* key (e.g. the JWKS PEM used as the HMAC secret) forge
#: tokens, so neither is on the list.
ALLOWED_ALGORITHMS: tuple[str, ...] = (
    "RS256", "RS384", "RS512",
    "PS256", "PS384", "PS512",
    "ES256", "ES384", "ES512",
    "EdDSA",
)

#: Clock skew tolerated on `exp`, `nbf` and `iat`, in seconds.
LEEWAY = 60


class UnknownKeyId(Exception):
    """The token names a `kid` the key set does not have: the provider may have
    rotated its keys, so the caller refetches the JWKS (once) and tries again."""

    def __init__(self, kid: str) -> None:
        super().__init__(f"no key with kid {kid!r} in the JWKS")
        self.kid = kid


def _b64url_json(segment: str) -> dict[str, Any]:
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
        value = json.loads(raw)
    except (binascii.Error, ValueError) as exc:  # UnicodeDecodeError is a ValueError
        raise ValueError("not base64url-encoded JSON") from exc
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    return value


def peek(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims of a compact JWS, *without* verifying anything.

    Raises ValueError when `token` is not a three-part JWS with JSON-object parts
    (a five-part JWE included: ALB has no key to decrypt one)."""
    parts = token.split(".")
    if len(parts) != 3:
        raise ValueError("not a compact JWS")
    return _b64url_json(parts[0]), _b64url_json(parts[1])


def check_algorithm(header: Mapping[str, Any]) -> str:
    """The header's `alg`, if it is on the allow-list."""
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in ALLOWED_ALGORITHMS:
        raise InvalidIdToken(f"ID token algorithm {alg!r} is not allowed")
    return alg


def import_jwks(document: Any) -> list[Key]:
    """The signing keys of a JWKS document. Keys we cannot use are skipped rather than
    failing the set (RFC 7517 §5): encryption keys, symmetric keys, unknown types."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError("not a JWK Set")
    keys: list[Key] = []
    for entry in document["keys"]:
        if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
            continue
        if entry.get("kty") == "oct":
            continue
        try:
            keys.append(JWKRegistry.import_key(entry))
        except (JoseError, ValueError, TypeError):
            continue
    return keys


def _candidates(keys: Iterable[Key], kid: str | None, alg: str) -> list[Key]:
    found = [k for k in keys if kid is None or k.kid == kid]
    if kid is not None and not found:
        raise UnknownKeyId(kid)
    # A key that pins its own `alg` may only be used with that one (RFC 7517 §4.4).
    return [k for k in found if k.alg in (None, alg)]


def verify_signature(token: str, keys: Iterable[Key]) -> None:
    """Check the JWS signature against `keys`: the key named by `kid`, or, without a
    `kid`, any key that verifies. Raises UnknownKeyId or InvalidIdToken."""
    try:
        header, _ = peek(token)
    except ValueError as exc:
        raise InvalidIdToken(f"ID token is malformed: {exc}") from None
    alg = check_algorithm(header)
    kid = header.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise InvalidIdToken("ID token kid is not a string")
    for key in _candidates(keys, kid, alg):
        try:
            with warnings.catch_warnings():
                # joserfc flags EdDSA (superseded by RFC 9864's Ed25519); we allow it
                # deliberately, as providers still sign with it.
                warnings.simplefilter("ignore", SecurityWarning)
                jws.deserialize_compact(token, key, algorithms=[alg])
        except (JoseError, ValueError, TypeError):
            continue
        return
    raise InvalidIdToken("ID token signature does not verify")


def numeric_claim(claims: Mapping[str, Any], name: str,
                  invalid: Callable[[str], Exception]) -> float | None:
    """A NumericDate claim (RFC 7519 section 2): None when absent, `invalid(reason)` raised
    when it is not a number (booleans included). Shared by ID and logout tokens."""
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise invalid(f"{name} is not a number")
    return float(value)


def _number(claims: Mapping[str, Any], name: str) -> float | None:
    return numeric_claim(claims, name, lambda reason: InvalidIdToken(f"ID token {reason}"))


def check_claims(claims: Mapping[str, Any], *, issuer: str, client_id: str, now: float,
                 nonce: str | None = None, leeway: float = LEEWAY) -> None:
    """OIDC Core 3.1.3.7 steps 2-4, 9, 10 and 11, as ALB's emulator applies them (spec 2.5)."""
    # OIDC Core 2: `sub` is REQUIRED; the UserInfo `sub` is compared with it (5.3.2).
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:
        raise InvalidIdToken("ID token has no sub")

    # Step 2: exact string comparison, no normalisation of trailing slashes.
    if claims.get("iss") != issuer:
        raise InvalidIdToken("ID token iss does not match the issuer")

    # Steps 3-4: aud is a string or an array; with several audiences, azp must name us.
    # A lone-audience token's azp is not checked (OIDC Core errata set 2 dropped that
    # step; Google sets azp to another of the project's clients in cross-client flows).
    aud = claims.get("aud")
    audiences = [aud] if isinstance(aud, str) else aud
    if not isinstance(audiences, list) or client_id not in audiences:
        raise InvalidIdToken("ID token aud does not contain the client_id")
    if len(audiences) > 1 and claims.get("azp") != client_id:
        raise InvalidIdToken("ID token has several audiences and azp is not the client_id")

    # Step 9: exp is required, and in the future.
    exp = _number(claims, "exp")
    if exp is None:
        raise InvalidIdToken("ID token has no exp")
    if exp + leeway <= now:
        raise InvalidIdToken("ID token has expired")
    # Step 10: a token issued "in the future" (beyond the skew we allow) comes from a
    # provider whose clock is wrong or from a forger pre-minting tokens: refuse it.
    iat = _number(claims, "iat")
    if iat is not None and iat - leeway > now:
        raise InvalidIdToken("ID token was issued in the future")
    nbf = _number(claims, "nbf")
    if nbf is not None and nbf - leeway > now:
        raise InvalidIdToken("ID token is not valid yet")

    # Step 11: the nonce sent in the authentication request comes back unchanged.
    if nonce is not None and claims.get("nonce") != nonce:
        raise InvalidIdToken("ID token nonce does not match")


__all__ = [
    "ALLOWED_ALGORITHMS",
    "LEEWAY",
    "UnknownKeyId",
    "check_algorithm",
    "check_claims",
    "import_jwks",
    "numeric_claim",
    "peek",
    "verify_signature",
]
