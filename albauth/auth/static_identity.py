"""Static identity, for an app's own test suite: every request on the rule is a fixed user,
with `x-amzn-oidc-*` headers signed exactly as ALB signs them and no identity provider at
all, so the app's CI exercises its real header verification. A request may pick another of
the configured users by name with `static_identity_header`. The config loader refuses it on
any listener not bound to loopback."""

from __future__ import annotations

import hashlib
import json

from aiohttp import web

from albauth.config.model import AuthenticateConfig
from albauth.session.model import Session

__all__ = ["StaticIdentity"]

_FOREVER = 2**31  # the session never ends: there is nothing to refresh


class StaticIdentity:
    def __init__(self, config: AuthenticateConfig, binding: str) -> None:
        self._header = config.static_identity_header
        self._sessions = {name: _session(name, claims, binding) for name, claims in config.static_identity}
        self._default = self._sessions[config.static_identity[0][0]]

    def session_for(self, request: web.BaseRequest) -> Session | None:
        """The configured user (the request's pick, when a header names one); None when the
        request names a user that is not configured."""
        if self._header is not None and self._header in request.headers:
            return self._sessions.get(request.headers[self._header])
        return self._default


def _session(name: str, claims_json: str, binding: str) -> Session:
    claims = json.loads(claims_json)
    # A stable stand-in access token per user, so the signed header is reused like a real one.
    token = "static." + hashlib.sha256(f"{binding}\0{claims_json}".encode()).hexdigest()[:32]
    return Session(sid=f"static-{name}", binding=binding, claims=claims, access_token=token,
                   refresh_token=None, access_token_expires_at=None, authenticated_at=0.0,
                   expires_at=float(_FOREVER))
