"""The login state ALB carries through the provider (spec 2.2-2.3).

`state` is an encrypted, authenticated blob (standard base64, like ALB's) that binds the
`AWSALBAuthNonce` browser cookie, the original request URI, the rule binding, the
redirect_uri that was sent, and the time the login started (for the 15-minute window).
Opt-in hardening (PKCE verifier, OIDC nonce) travels inside it too, so no replica needs
server-side login state."""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import string
from dataclasses import dataclass

from albauth.session.sealing import Sealer, SealError

NONCE_COOKIE = "AWSALBAuthNonce"
LOGIN_WINDOW = 15 * 60  # seconds; fixed in ALB, not configurable
_ALPHANUMERIC = string.ascii_letters + string.digits
_AAD = b"albauth/login-state"


# Random bytes to letters and digits without a Python loop: a byte b < 248 (4 x 62) maps to
# _ALPHANUMERIC[b % 62], uniformly; the 8 values above map to NUL and are dropped.
_TO_ALPHANUMERIC = bytes(_ALPHANUMERIC.encode()[b % 62] if b < 248 else 0 for b in range(256))


def new_browser_nonce() -> str:
    """16 alphanumeric characters, like the observed `AWSALBAuthNonce` values."""
    while True:
        chars = secrets.token_bytes(24).translate(_TO_ALPHANUMERIC).replace(b"\0", b"")
        if len(chars) >= 16:  # 24 bytes leave fewer than 16 once in ~10^13 draws
            return chars[:16].decode()


@dataclass(frozen=True)
class LoginState:
    nonce: str  # must equal the AWSALBAuthNonce cookie at the callback
    original_uri: str  # path and query to return to
    binding: str  # which authenticate config started the login
    redirect_uri: str  # exactly what was sent to the authorization endpoint
    created_at: float
    code_verifier: str | None = None  # PKCE (opt-in)
    oidc_nonce: str | None = None  # OIDC nonce (opt-in)
    # Forward-auth (`/oauth2/start?rd=`): an absolute URL, possibly on another host, checked
    # against the allowed redirect domains before it was sealed in. None: original_uri.
    return_url: str | None = None


class InvalidState(Exception):
    pass


class StateCodec:
    def __init__(self, sealer: Sealer) -> None:
        self._sealer = sealer

    def encode(self, state: LoginState) -> str:
        doc = {"n": state.nonce, "u": state.original_uri, "b": state.binding, "r": state.redirect_uri,
               "t": int(state.created_at)}
        if state.code_verifier:
            doc["v"] = state.code_verifier
        if state.oidc_nonce:
            doc["o"] = state.oidc_nonce
        if state.return_url:
            doc["a"] = state.return_url  # absent from states sealed before forward-auth: still decodable
        raw = json.dumps(doc, separators=(",", ":")).encode()
        return base64.b64encode(self._sealer.seal(raw, _AAD)).decode("ascii")

    def decode(self, text: str) -> LoginState:
        try:
            sealed = base64.b64decode(text.encode("ascii"), validate=True)
            doc = json.loads(self._sealer.open(sealed, _AAD))
            return LoginState(nonce=str(doc["n"]), original_uri=str(doc["u"]), binding=str(doc["b"]),
                              redirect_uri=str(doc["r"]), created_at=float(doc["t"]),
                              code_verifier=doc.get("v"), oidc_nonce=doc.get("o"),
                              return_url=str(doc["a"]) if "a" in doc else None)
        except (SealError, ValueError, KeyError, TypeError, UnicodeError, binascii.Error) as exc:
            raise InvalidState(type(exc).__name__) from None
