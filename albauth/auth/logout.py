"""The opt-in logout route (`albauth: {logout_path: ...}`): what ALB leaves to every app
(spec 3.2), done once. Off by default, since ALB has no logout endpoint.

A GET or POST on the path ends the session in the store (`store.delete`: with the memory
and Redis stores the ticket is dead everywhere, a copied cookie included; with the cookie
store the only copy is the browser's, so deletion is client-side), expires every
`<SessionCookieName>-0..3` shard the request carries, and redirects to the provider's
logout (OIDC RP-Initiated Logout 1.0: discovery's `end_session_endpoint` with `client_id`
and `post_logout_redirect_uri`; Cognito: `/logout` with `client_id` and `logout_uri`), so
the provider's own session ends too and the next login is not silent. The session holds no
ID token (the cookie budget goes to ALB's claims and tokens), so no `id_token_hint` is
sent; providers then ask the user to confirm, or rely on `client_id`.
"""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from aiohttp import web

from albauth.auth.bound import BoundAction
from albauth.auth.errors import IdPError
from albauth.auth.responder import ErrorResponder
from albauth.contracts import ClientOrigin
from albauth.error_pages import SERVER
from albauth.session.cookies import CookiePolicy, expire, shard_indices
from albauth.session.errors import SessionInvalid, SessionStoreError
from albauth.session.store import SessionStore

log = logging.getLogger("albauth.auth")


async def logout(store: SessionStore, responder: ErrorResponder, request: web.BaseRequest,
                 bound: BoundAction, origin: ClientOrigin) -> web.StreamResponse:
    config = bound.config
    name = config.session_cookie_name
    cookies = request.cookies
    try:
        session = await store.load(cookies, name, bound.binding)
        if session is not None:
            # The user asked to be logged out: a store failure is never reported as done.
            await store.delete(session)
            log.info("logout: session ended")
    except SessionInvalid:
        pass
    except SessionStoreError as exc:
        return responder.store_failed(exc, "logout")
    resp = web.Response(status=302, headers={"Location": await provider_logout_url(bound),
                                             "Server": SERVER, "Cache-Control": "no-store"})
    policy = CookiePolicy(secure=origin.secure_cookies)
    for line in expire(name, shard_indices(cookies, name), policy):
        resp.headers.add("Set-Cookie", line)
    return resp


async def provider_logout_url(bound: BoundAction) -> str:
    """Where the browser goes next: the provider's logout, which sends it on to
    `post_logout_redirect_uri`; that page itself when the provider has no logout."""
    config = bound.config
    landing = config.post_logout_redirect_uri
    assert landing is not None  # required with logout_path (config.actions)
    if config.kind == "cognito" and config.logout_endpoint:
        return _with_query(config.logout_endpoint, [("client_id", config.client_id),
                                                    ("logout_uri", landing)])
    endpoint = None
    try:
        endpoint = (await bound.client.metadata()).end_session_endpoint
    except IdPError as exc:
        log.warning("logout: discovery failed (%s); the provider's session is not ended", exc)
    endpoint = endpoint or config.logout_endpoint
    if not endpoint:
        return landing
    return _with_query(endpoint, [("client_id", config.client_id),
                                  ("post_logout_redirect_uri", landing)])


def _with_query(url: str, params: list[tuple[str, str]]) -> str:
    return f"{url}{'&' if '?' in url else '?'}{urlencode(params)}"
