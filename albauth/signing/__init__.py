"""ALB's `x-amzn-oidc-data` token, the keys that sign it and the endpoint that serves them."""

from albauth.signing.albjwt import (
    AlbJwtSigner,
    AlbToken,
    InvalidAlbToken,
    TokenEncoding,
    b64url_decode,
    b64url_padded,
    decode_unverified,
    default_signer_arn,
    peek_header,
    verify_alb_jwt,
)
from albauth.signing.keyring import KeyRing, KeyRingError, SigningKey, kid_for
from albauth.signing.keyserver import JWKS_PATH, add_key_routes

__all__ = [
    "JWKS_PATH",
    "AlbJwtSigner",
    "AlbToken",
    "InvalidAlbToken",
    "KeyRing",
    "KeyRingError",
    "SigningKey",
    "TokenEncoding",
    "add_key_routes",
    "b64url_decode",
    "b64url_padded",
    "decode_unverified",
    "default_signer_arn",
    "kid_for",
    "peek_header",
    "verify_alb_jwt",
]
