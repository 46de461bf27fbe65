"""The opt-in logout route (`albauth: {logout_path: ...}`): what ALB leaves to every app
(spec 3.2), done once. Off by default, since ALB has no logout endpoint.

A POST, or a GET the browser marks as same-origin, on the path ends the session in the
store (`store.delete`: with the memory and Redis stores the ticket is dead everywhere, a
copied cookie included; with the cookie store the only copy is the browser's, so deletion
is client-side), expires every
`<SessionCookieName>-0..3` shard the request carries, and redirects to the provider's
logout (OIDC RP-Initiated Logout 1.0: discovery's `end_session_endpoint` with `client_id`
and `post_logout_redirect_uri`; Cognito: `/logout` with `client_id` and `logout_uri`), so
the provider's own session ends too and the next login is not silent. The session holds no
ID token (the cookie budget goes to ALB's claims and tokens), so no `id_token_hint` is
sent; providers then ask the user to confirm, or rely on `client_id`. A cross-site GET
(a link or an image on another site) gets a page that asks, and logs out nothing.
"""

from __future__ import annotations

import html
import logging
from urllib.parse import urlencode, urlsplit

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
    if not _may_log_out(request, origin, allow_cross_site_get=config.logout_allow_cross_site_get):
        return _confirmation_page(request)
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


def _may_log_out(request: web.BaseRequest, origin: ClientOrigin, *, allow_cross_site_get: bool) -> bool:
    """A logout is a state change: another site must not trigger it with an image or a
    link (login CSRF's twin). POST is refused only when the browser says it came from
    elsewhere; GET needs the browser's word that it did not (Fetch Metadata, else the
    Origin/Referer), unless `logout_allow_cross_site_get` restores the plain GET."""
    site = request.headers.get("Sec-Fetch-Site")
    if request.method == "POST":
        if site is not None:
            return site in ("same-origin", "none")
        source = request.headers.get("Origin")
        return source is None or _is_own_origin(source, request, origin)
    if allow_cross_site_get:
        return True
    if site is not None:
        return site in ("same-origin", "none")  # "none": typed, bookmarked
    source = request.headers.get("Origin") or request.headers.get("Referer")
    return source is not None and _is_own_origin(source, request, origin)


def _is_own_origin(source: str, request: web.BaseRequest, origin: ClientOrigin) -> bool:
    parts = urlsplit(source)
    return (parts.scheme, parts.netloc.lower()) == (origin.scheme, request.headers.get("Host", "").lower())


_CONFIRM = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Sign out</title></head>
<body style="font-family:sans-serif;margin:3em">
<form method="post" action="{action}"><p>Sign out of this site?</p>
<button type="submit" id="sign-out">Sign out</button></form>
</body></html>
"""


def _confirmation_page(request: web.BaseRequest) -> web.Response:
    """A cross-site or unverifiable GET: ask, and let the same-origin POST do it."""
    log.info("logout: cross-site or unverifiable %s, asked to confirm", request.method)
    if request.method != "GET":
        return web.Response(status=403, text="Forbidden", headers={"Server": SERVER})
    page = _CONFIRM.format(action=html.escape(request.path, quote=True))
    # no-store: a logout page is never cached; DENY: the button must not be framed (clickjacking).
    return web.Response(text=page, content_type="text/html",
                        headers={"Server": SERVER, "Cache-Control": "no-store", "X-Frame-Options": "DENY",
                                 "Content-Security-Policy": "default-src 'none'; form-action 'self'"})


def _with_query(url: str, params: list[tuple[str, str]]) -> str:
    return f"{url}{'&' if '?' in url else '?'}{urlencode(params)}"
