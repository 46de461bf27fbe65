"""`DevIdP`: one running provider (keys, in-memory state, authlib server, aiohttp app)
plus the handles tests use to steer it: a call log, refresh-token revocation, key
rotation, and codes minted without a browser."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import parse_qs, urlsplit

from aiohttp import web
from authlib.oauth2 import OAuth2Error
from joserfc import jwt

from albauth.clock import Clock, system_clock

from .cognito_views import LOGIN_PATH, CognitoViews
from .events import ClientAuth, Endpoint, IdpEvent
from .keys import KeyRing
from .models import SignedInUser, Store
from .server import AiohttpOAuth2Request, IdpAuthorizationServer
from .settings import IdpSettings
from .views import IdpViews


class DevIdP:
    def __init__(self, settings: IdpSettings, *, clock: Clock = system_clock,
                 keys: KeyRing | None = None) -> None:
        self.settings = settings
        self.clock = clock
        self.keys = keys or KeyRing()
        self.store = Store()
        self.server = IdpAuthorizationServer(settings, self.keys, self.store, clock)
        self.events: list[IdpEvent] = []
        # An issuer with a path (`https://host/idp`) serves every endpoint under it.
        self.base_path = urlsplit(settings.issuer).path.rstrip("/")
        self.app = self._build_app()

    def _build_app(self) -> web.Application:
        app = web.Application()
        app[IDP_KEY] = self
        if self.settings.cognito is not None:
            self._add_cognito_routes(app)
            return app
        views = IdpViews(self.server, base_path=self.base_path, record=self.events.append)
        p = self.base_path
        app.router.add_get(f"{p}/.well-known/openid-configuration", views.discovery)
        app.router.add_get(f"{p}/jwks", views.jwks)
        app.router.add_route("GET", f"{p}/authorize", views.authorize)
        app.router.add_route("POST", f"{p}/authorize", views.authorize)
        app.router.add_post(f"{p}/token", views.token)
        app.router.add_route("GET", f"{p}/userinfo", views.userinfo)
        app.router.add_route("POST", f"{p}/userinfo", views.userinfo)
        app.router.add_route("GET", f"{p}/logout", views.logout)
        app.router.add_route("POST", f"{p}/logout", views.logout)
        return app

    def _add_cognito_routes(self, app: web.Application) -> None:
        """A user pool: its keys and discovery under the issuer (`/<pool id>`), its hosted
        domain's endpoints at the root, with Cognito's spelling (`userInfo`)."""
        views = CognitoViews(self.server, base_path=self.base_path, record=self.events.append)
        p = self.base_path
        app.router.add_get(f"{p}/.well-known/openid-configuration", views.discovery)
        app.router.add_get(f"{p}/.well-known/jwks.json", views.jwks)
        app.router.add_get("/oauth2/authorize", views.authorize)
        app.router.add_route("GET", LOGIN_PATH, views.login)
        app.router.add_route("POST", LOGIN_PATH, views.login)
        app.router.add_post("/oauth2/token", views.token)
        app.router.add_route("GET", "/oauth2/userInfo", views.userinfo)
        app.router.add_route("POST", "/oauth2/userInfo", views.userinfo)
        app.router.add_get("/logout", views.logout)

    # -- observing and steering, for tests --

    def record(self, endpoint: Endpoint, grant_type: str | None, client_auth: ClientAuth | None,
               params: dict[str, str], status: int) -> None:
        self.events.append(IdpEvent(endpoint, grant_type, client_auth, params, status))

    def count(self, endpoint: str, grant_type: str | None = None) -> int:
        return sum(1 for e in self.events
                   if e.endpoint == endpoint and (grant_type is None or e.grant_type == grant_type))

    def revoke_refresh_tokens(self, sub: str | None = None) -> None:
        """Revoke every refresh token, or only those of the user with `sub`."""
        tokens = self.store.refresh_tokens
        for value in [v for v, t in tokens.items() if sub is None or t.sub == sub]:
            del tokens[value]

    def rotate_key(self) -> str:
        """Sign with a new key from now on; older keys stay in /jwks. Returns the new kid."""
        return self.keys.rotate()

    def backchannel_logout_token(self, client_id: str, *, sub: str | None = None,
                                 sid: str | None = None, ttl: int = 120,
                                 **overrides: Any) -> str:
        """A logout token (OIDC Back-Channel Logout 1.0, 2.4) signed with the current key,
        as this provider would POST to a client; `overrides` replace or add claims (a
        value of None removes one), so tests can also build bad ones."""
        now = int(self.clock())
        claims: dict[str, Any] = {
            "iss": self.settings.issuer, "aud": client_id, "iat": now, "exp": now + ttl,
            "jti": secrets.token_urlsafe(16),
            "events": {"http://schemas.openid.net/event/backchannel-logout": {}}}
        if sub is not None:
            claims["sub"] = sub
        if sid is not None:
            claims["sid"] = sid
        for name, value in overrides.items():
            if value is None:
                claims.pop(name, None)
            else:
                claims[name] = value
        return jwt.encode(self.keys.header(typ="logout+jwt"), claims, self.keys.current)

    def issue_code(self, username: str, client_id: str, redirect_uri: str,
                   scope: str = "openid", nonce: str | None = None) -> str:
        """An authorization code as if `username` had just signed in, validated by
        the same authlib grant as the browser flow (so a bad client or redirect_uri
        raises ValueError instead of producing a code the token endpoint would refuse)."""
        user = self.settings.user(username)
        if user is None:
            raise ValueError(f"unknown user {username!r}")
        params = [("response_type", "code"), ("client_id", client_id),
                  ("redirect_uri", redirect_uri), ("scope", scope)]
        if nonce is not None:
            params.append(("nonce", nonce))
        request = AiohttpOAuth2Request("GET", f"{self.settings.issuer}/authorize", {}, params)
        signed_in = SignedInUser(user, int(self.clock()))
        try:
            grant = self.server.get_consent_grant(request, signed_in)
        except OAuth2Error as error:
            raise ValueError(f"{error.error}: {error.description}") from error
        response = self.server.create_authorization_response(request, grant_user=signed_in, grant=grant)
        query = parse_qs(urlsplit(response.headers.get("Location", "")).query)
        if "code" not in query:
            raise ValueError(f"no code issued: {query.get('error_description') or query.get('error')}")
        return str(query["code"][0])


IDP_KEY: web.AppKey[DevIdP] = web.AppKey("albauth.devidp", DevIdP)


def create_idp_app(settings: IdpSettings, *, clock: Clock = system_clock) -> web.Application:
    """A provider's aiohttp application; the `DevIdP` behind it is `app[IDP_KEY]`."""
    return DevIdP(settings, clock=clock).app
