"""aiohttp handlers: read the request, hand it to authlib's server, record the event.

Protocol decisions stay in authlib (server.py, grants.py, endpoints.py); what lives here
is the browser side that authlib leaves to the framework: the login form, the IdP
session cookie, and which errors may be redirected to the client.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable

from aiohttp import web
from authlib.oauth2 import OAuth2Error

from .discovery import metadata_for
from .events import Endpoint, IdpEvent, client_auth_of, recorded_params
from .models import SignedInUser
from .pages import error_page, login_page, signed_out_page
from .server import AiohttpOAuth2Request, IdpAuthorizationServer, read_oauth2_request

SESSION_COOKIE = "albauth_devidp_session"
_NO_STORE = {"Cache-Control": "no-store"}


class IdpViews:
    """The handlers of one provider: its authlib server (with the settings, keys, store
    and clock), the path its issuer serves under, and where each call is recorded."""

    def __init__(self, server: IdpAuthorizationServer, *, base_path: str,
                 record: Callable[[IdpEvent], None]) -> None:
        self.server = server
        self.settings = server.settings
        self.base_path = base_path
        self.record = record
        self.login_path = f"{base_path}/authorize"  # where the sign-in form posts
        self.cookie_path = base_path or "/"  # the IdP session cookie's Path

    # -- discovery --

    async def discovery(self, request: web.Request) -> web.Response:
        return web.json_response(metadata_for(self.settings))

    async def jwks(self, request: web.Request) -> web.Response:
        return web.json_response(self.server.keys.jwks())

    # -- authorization endpoint --

    async def authorize(self, request: web.Request) -> web.Response:
        oauth_req = await read_oauth2_request(request)
        if request.method == "POST":
            response = self._login_submitted(request, oauth_req)
        else:
            response = self._authorize_start(request, oauth_req)
        self._record("authorize", oauth_req, response)
        return response

    def _authorize_start(self, request: web.Request, oauth_req: AiohttpOAuth2Request) -> web.Response:
        end_user = self._session_user(request)
        try:
            grant = self.server.get_consent_grant(oauth_req, end_user)
        except OAuth2Error as error:
            return self._authorize_error(oauth_req, error)
        # authlib sets prompt="login" for prompt=login (OIDC Core 3.1.2.1) and when
        # nobody is signed in; a remembered session otherwise goes straight back.
        if end_user is not None and grant.prompt != "login":
            response: web.Response = self.server.create_authorization_response(
                oauth_req, grant_user=end_user, grant=grant)
            return response
        return self._ask_to_sign_in(oauth_req)

    def _ask_to_sign_in(self, oauth_req: AiohttpOAuth2Request) -> web.Response:
        return self._login_form(oauth_req)

    def _login_submitted(self, request: web.Request, oauth_req: AiohttpOAuth2Request) -> web.Response:
        # The hidden fields are the original authorization request; they came back
        # through the browser, so authlib validates them again like a fresh request.
        try:
            grant = self.server.get_consent_grant(oauth_req, None)
        except OAuth2Error as error:
            return self._authorize_error(oauth_req, error)
        form = oauth_req.form
        if form.get("action") == "cancel":
            # grant_user=None: authlib redirects with error=access_denied and the state.
            denied: web.Response = self.server.create_authorization_response(
                oauth_req, grant_user=None, grant=grant)
            return denied
        username = form.get("username", "")
        user = self.settings.user(username)
        if user is None or not hmac.compare_digest(form.get("password", "").encode(), user.password.encode()):
            return self._login_form(oauth_req, error="Incorrect username or password.", username=username)
        signed_in = SignedInUser(user, int(self.server.clock()))
        response: web.Response = self.server.create_authorization_response(
            oauth_req, grant_user=signed_in, grant=grant)
        if self.settings.remember_login:
            self._start_session(response, signed_in)
        return response

    def _login_form(self, oauth_req: AiohttpOAuth2Request, *, error: str | None = None,
                    username: str = "") -> web.Response:
        html = login_page(action=self.login_path, params=oauth_req.payload.data,
                          client_id=oauth_req.payload.client_id, users=self.settings.users,
                          error=error, username=username, stand_in=self.settings.cognito)
        return web.Response(text=html, content_type="text/html", headers=_NO_STORE)

    def _authorize_error(self, oauth_req: AiohttpOAuth2Request, error: OAuth2Error) -> web.Response:
        if error.redirect_uri:
            # authlib only sets redirect_uri after checking it against the client.
            redirect: web.Response = self.server.handle_error_response(oauth_req, error)
            return redirect
        # RFC 6749 4.1.2.1: with an unknown client or an unregistered redirect_uri the
        # user is told, and never sent to the unverified URI.
        html = error_page(error.error.replace("_", " ").capitalize(), error.description or error.error)
        return web.Response(status=error.status_code, text=html, content_type="text/html")

    # -- token and userinfo --

    async def token(self, request: web.Request) -> web.Response:
        oauth_req = await read_oauth2_request(request)
        response: web.Response = self.server.create_token_response(oauth_req)
        self._record("token", oauth_req, response)
        return response

    async def userinfo(self, request: web.Request) -> web.Response:
        oauth_req = await read_oauth2_request(request)
        response: web.Response = self.server.create_endpoint_response("userinfo", oauth_req)
        self._record("userinfo", oauth_req, response)
        return response

    # -- logout --

    async def logout(self, request: web.Request) -> web.Response:
        oauth_req = _with_cognito_logout_uri(await read_oauth2_request(request))
        try:
            end_req = self.server.validate_endpoint_request("end_session", oauth_req)
        except OAuth2Error as error:
            # RP-Initiated Logout 4: on errors, no redirect; the session still ends.
            response = self._signed_out(f"Not redirected: {error.description or error.error}")
        else:
            response = self.server.create_endpoint_response("end_session", end_req) or self._signed_out()
        self._end_session(request, response)
        self._record("logout", oauth_req, response)
        return response

    def _signed_out(self, note: str | None = None) -> web.Response:
        return web.Response(text=signed_out_page(note), content_type="text/html", headers=_NO_STORE)

    # -- IdP browser session (only with settings.remember_login) --

    def _session_user(self, request: web.Request) -> SignedInUser | None:
        if not self.settings.remember_login:
            return None
        return self.server.store.sessions.get(request.cookies.get(SESSION_COOKIE, ""))

    def _start_session(self, response: web.Response, user: SignedInUser) -> None:
        sid = secrets.token_urlsafe(32)
        self.server.store.sessions[sid] = user
        response.set_cookie(SESSION_COOKIE, sid, path=self.cookie_path, httponly=True,
                            samesite="Lax", secure=self.settings.issuer.startswith("https://"))

    def _end_session(self, request: web.Request, response: web.Response) -> None:
        sid = request.cookies.get(SESSION_COOKIE)
        if sid is not None:
            self.server.store.sessions.pop(sid, None)
            response.del_cookie(SESSION_COOKIE, path=self.cookie_path)

    def _record(self, endpoint: Endpoint, oauth_req: AiohttpOAuth2Request, response: web.StreamResponse) -> None:
        params = oauth_req.payload.data
        self.record(IdpEvent(endpoint, params.get("grant_type"), client_auth_of(oauth_req.headers, params),
                             recorded_params(params), response.status))


def _with_cognito_logout_uri(oauth_req: AiohttpOAuth2Request) -> AiohttpOAuth2Request:
    """Cognito's /logout takes `logout_uri`; OIDC's takes `post_logout_redirect_uri`."""
    data = oauth_req.payload.data
    if "logout_uri" not in data or "post_logout_redirect_uri" in data:
        return oauth_req
    query = [*oauth_req.args.items(), ("post_logout_redirect_uri", data["logout_uri"])]
    return AiohttpOAuth2Request(oauth_req.method, oauth_req.uri, oauth_req.headers,
                                query, oauth_req.form.items())
