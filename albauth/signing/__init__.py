"""ALB's `x-amzn-oidc-data` token, the keys that sign it and the endpoint that serves them."""

from albauth.signing.albjwt import (
    AlbJwtSigner,
    AlbToken,
    Encoding,
    InvalidAlbToken,
    b64url_decode,
    b64url_padded,
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
    "Encoding",
    "InvalidAlbToken",
    "KeyRing",
    "KeyRingError",
    "SigningKey",
    "add_key_routes",
    "b64url_decode",
    "b64url_padded",
    "default_signer_arn",
    "kid_for",
    "peek_header",
    "verify_alb_jwt",
]
