"""Cognito mode's hosted-domain pages: /oauth2/authorize sends the browser on to /login
with the same query, as a user pool's domain does, and /login shows and checks the form.
Tokens, UserInfo and /logout are the provider's own views (their shapes follow the
settings' `cognito`)."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from aiohttp import web
from authlib.oauth2 import OAuth2Error

from .events import IdpEvent
from .server import AiohttpOAuth2Request, IdpAuthorizationServer, read_oauth2_request
from .views import IdpViews

LOGIN_PATH = "/login"


class CognitoViews(IdpViews):
    def __init__(self, server: IdpAuthorizationServer, *, base_path: str,
                 record: Callable[[IdpEvent], None]) -> None:
        super().__init__(server, base_path=base_path, record=record)
        # The hosted pages are at the domain's root, not under the issuer's /<pool id>.
        self.login_path = LOGIN_PATH
        self.cookie_path = "/"

    def _ask_to_sign_in(self, oauth_req: AiohttpOAuth2Request) -> web.Response:
        query = urlencode(list(oauth_req.args.items()))
        return web.Response(status=302, headers={"Location": f"{LOGIN_PATH}?{query}",
                                                 "Cache-Control": "no-store"})

    async def login(self, request: web.Request) -> web.Response:
        oauth_req = await read_oauth2_request(request)
        if request.method == "POST":
            response = self._login_submitted(request, oauth_req)
        else:
            try:  # the same checks as /oauth2/authorize: a bad client never sees a form
                self.server.get_consent_grant(oauth_req, None)
            except OAuth2Error as error:
                response = self._authorize_error(oauth_req, error)
            else:
                response = self._login_form(oauth_req)
        self._record("authorize", oauth_req, response)
        return response
