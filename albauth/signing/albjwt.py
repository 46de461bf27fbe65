"""`x-amzn-oidc-data`: ALB's ES256-signed claims token, byte-compatible with the real one.

What ALB does, and so what we do (spec 5.2):
* the header is compact JSON with the keys `typ, kid, alg, iss, client, signer, exp` in
  exactly that order;
* the payload is the UserInfo JSON in the IdP's order, then `exp` and `iss`; no `iat`;
* every segment is base64url *with* `=` padding, and the signature (raw 64-byte r||s, not
  DER) is computed over the padded `H.P` text as transmitted, so stripping the padding
  breaks it. PyJWT <= 2.13 accepts this, which is what AWS's own Python sample relies on.

`encoding="standard"` produces an RFC 7515 compact JWS instead, for apps whose JWT library
refuses ALB's padding (node-jws, PyJWT 2.14, erlang-jose...).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from albauth.signing.keyring import KeyRing

__all__ = [
    "AlbJwtSigner",
    "AlbToken",
    "InvalidAlbToken",
    "TokenEncoding",
    "b64url_decode",
    "b64url_padded",
    "default_signer_arn",
    "decode_unverified",
    "peek_header",
    "verify_alb_jwt",
]

TokenEncoding = Literal["alb", "standard"]

_ES256 = ec.ECDSA(hashes.SHA256())
_DUMPS = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
# The claims ALB appends itself; an IdP's own copies are moved, not duplicated.
_ALB_CLAIMS = frozenset(("exp", "iss"))
_PREFIX_CACHE_MAX = 256


def b64url_padded(data: bytes) -> str:
    """base64url with `=` padding kept, as ALB emits every segment."""
    return base64.urlsafe_b64encode(data).decode("ascii")


def _b64url_unpadded(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(segment: str | bytes) -> bytes:
    """Decode base64url with or without padding; raise ValueError on anything else
    (unlike `base64.urlsafe_b64decode`, stray characters are not silently dropped)."""
    raw = segment.encode("ascii") if isinstance(segment, str) else segment
    raw = raw.rstrip(b"=")
    if len(raw) % 4 == 1:
        raise ValueError("base64url segment has an impossible length")
    try:
        return base64.b64decode(raw + b"=" * (-len(raw) % 4), altchars=b"-_", validate=True)
    except binascii.Error as exc:
        raise ValueError(f"invalid base64url: {exc}") from exc


def default_signer_arn(region: str = "us-east-1", account: str = "123456789012",
                       name: str = "albauth", lb_id: str | None = None) -> str:
    """A realistic ALB ARN for the `signer` header (aws-jwt-verify parses region from it).

    Without `lb_id`, the 16-hex id is derived from region/account/name, so every replica
    (and every restart) presents the same signer."""
    if not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d", region):
        raise ValueError(f"not an AWS region: {region!r}")
    if not re.fullmatch(r"\d{12}", account):
        raise ValueError(f"an AWS account id is 12 digits, got {account!r}")
    # ALB names: up to 32 alphanumerics or hyphens, not starting or ending with a hyphen.
    if not re.fullmatch(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?", name):
        raise ValueError(f"not a valid load balancer name: {name!r}")
    if lb_id is None:
        lb_id = hashlib.sha256(f"{region}:{account}:{name}".encode()).hexdigest()[:16]
    elif not re.fullmatch(r"[0-9a-f]{16}", lb_id):
        raise ValueError(f"a load balancer id is 16 lowercase hex digits, got {lb_id!r}")
    return f"arn:aws:elasticloadbalancing:{region}:{account}:loadbalancer/app/{name}/{lb_id}"


class AlbJwtSigner:
    """Signs `x-amzn-oidc-data` with the ring's current key. Runs on the request path.

    A KeyRing is immutable: after reloading or rotating keys, build a new signer."""

    def __init__(self, keyring: KeyRing, *, signer_arn: str, encoding: TokenEncoding = "alb",
                 lifetime: int = 120) -> None:
        if encoding not in ("alb", "standard"):
            raise ValueError(f"encoding must be 'alb' or 'standard', got {encoding!r}")
        if lifetime <= 0:
            raise ValueError("lifetime must be positive")
        self._key = keyring.current
        self.kid = self._key.kid
        self.signer_arn = signer_arn
        self.encoding: TokenEncoding = encoding
        self.lifetime = int(lifetime)
        self._b64 = b64url_padded if encoding == "alb" else _b64url_unpadded
        # Header JSON up to (excluding) the exp value, per (issuer, client): everything in
        # it but exp is fixed for a rule, so only `exp}` is formatted per request.
        self._prefixes: dict[tuple[str, str], str] = {}

    def _header_prefix(self, issuer: str, client_id: str) -> str:
        prefix = self._prefixes.get((issuer, client_id))
        if prefix is None:
            head = _DUMPS({"typ": "JWT", "kid": self.kid, "alg": "ES256", "iss": issuer,
                           "client": client_id, "signer": self.signer_arn, "exp": 0})
            prefix = head[: -len("0}")]
            if len(self._prefixes) >= _PREFIX_CACHE_MAX:
                self._prefixes.clear()
            self._prefixes[(issuer, client_id)] = prefix
        return prefix

    def sign(self, claims: Mapping[str, Any], *, issuer: str, client_id: str,
             now: float) -> str:
        exp = int(now) + self.lifetime
        header = f"{self._header_prefix(issuer, client_id)}{exp}}}"
        body = {k: v for k, v in claims.items() if k not in _ALB_CLAIMS}
        body["exp"] = exp
        body["iss"] = issuer
        b64 = self._b64
        signing_input = f"{b64(header.encode())}.{b64(_DUMPS(body).encode())}"
        der = self._key.private_key.sign(signing_input.encode("ascii"), _ES256)
        r, s = decode_dss_signature(der)
        return f"{signing_input}.{b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


class InvalidAlbToken(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class AlbToken:
    header: dict[str, Any]
    claims: dict[str, Any]


def _json_segment(segment: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(b64url_decode(segment))
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidAlbToken(f"{what} is not base64url JSON") from exc
    if not isinstance(value, dict):
        raise InvalidAlbToken(f"{what} is not a JSON object")
    return value


def peek_header(token: str) -> dict[str, Any]:
    """The unverified header, to find `kid` (and check `signer`) before fetching the key."""
    return _json_segment(token.split(".", 1)[0], "header")


def decode_unverified(token: str) -> AlbToken:
    """Header and payload as sent, key order kept, signature NOT checked (for display and
    for reading `kid` before the key is fetched); raises InvalidAlbToken if unreadable."""
    parts = token.split(".")
    if len(parts) != 3:
        raise InvalidAlbToken("a token has three '.'-separated segments")
    return AlbToken(_json_segment(parts[0], "header"), _json_segment(parts[1], "payload"))


def verify_alb_jwt(token: str, public_pem: bytes | str, *, expected_signer: str | None = None,
                   now: float | None = None) -> AlbToken:
    """Verify a token the way ALB users do: ES256 over the transmitted `H.P` text, so
    padded (ALB) and unpadded (standard) tokens both work. `exp` is checked only when
    `now` is given; `signer` only when `expected_signer` is given."""
    parts = token.split(".")
    if len(parts) != 3:
        raise InvalidAlbToken("a token has three '.'-separated segments")
    header = _json_segment(parts[0], "header")
    # Only ES256: never 'none', never HMAC keyed with the public PEM.
    if header.get("alg") != "ES256":
        raise InvalidAlbToken(f"alg must be ES256, got {header.get('alg')!r}")
    if expected_signer is not None and header.get("signer") != expected_signer:
        raise InvalidAlbToken(f"signer {header.get('signer')!r} is not {expected_signer!r}")
    try:
        pem = public_pem.encode("ascii") if isinstance(public_pem, str) else public_pem
        key = serialization.load_pem_public_key(pem)
    except ValueError as exc:
        raise InvalidAlbToken("the public key is not a PEM public key") from exc
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise InvalidAlbToken("the public key is not EC P-256")
    try:
        raw = b64url_decode(parts[2])
    except ValueError as exc:
        raise InvalidAlbToken("signature is not base64url") from exc
    if len(raw) != 64:
        raise InvalidAlbToken(f"an ES256 signature is 64 raw bytes, got {len(raw)}")
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    try:
        key.verify(der, f"{parts[0]}.{parts[1]}".encode("ascii"), _ES256)
    except (InvalidSignature, UnicodeEncodeError) as exc:
        raise InvalidAlbToken("signature does not verify") from exc
    claims = _json_segment(parts[1], "payload")
    if now is not None:
        exp = claims.get("exp", header.get("exp"))
        if not isinstance(exp, int) or isinstance(exp, bool):
            raise InvalidAlbToken("exp is missing or not an integer")
        if exp <= now:
            raise InvalidAlbToken("token has expired")
    return AlbToken(header, claims)
