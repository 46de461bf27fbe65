"""The demo app: an aiohttp target that shows what it receives from the load balancer,
verifies `x-amzn-oidc-data`, and logs out the way ALB's documentation tells apps to.

Routes: `/logout` (expire the session shards, then the provider's end-session
endpoint), the signed-out landing page, and every other path: the identity page.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import aiohttp
from aiohttp import web

from albauth.clock import Clock, system_clock

from .pages import IdentityView, identity_page, not_behind_albauth_page, signed_out_page
from .verify import PublicKeys, verify_oidc_data

OIDC_PREFIX = "x-amzn-oidc-"
MAX_SHARDS = 4  # ALB splits a session over at most 4 cookies, -0 to -3 (spec 3)
_NO_STORE = {"Cache-Control": "no-store"}

# Given the absolute URL of the signed-out page, where to send the browser so the
# provider ends its session too (None: straight to the signed-out page).
EndSession = Callable[[str], str]


@dataclass(frozen=True)
class DemoSettings:
    key_endpoint: str  # where `GET /<kid>` serves PEMs: albauth's admin listener
    expected_signer: str | None = None  # the load balancer ARN to insist on
    end_session: EndSession | None = None
    session_cookie_name: str = "AWSELBAuthSessionCookie"
    signed_out_path: str = "/signed-out"
    front_url: str | None = None  # albauth's URL, offered to visitors who bypass it


DEMO_KEY = web.AppKey("albauth.demo", DemoSettings)
_KEYS = web.AppKey("albauth.demo.keys", PublicKeys)


def create_demo_app(key_endpoint: str, expected_signer: str | None = None,
                    end_session: EndSession | None = None, *,
                    session_cookie_name: str = "AWSELBAuthSessionCookie",
                    signed_out_path: str = "/signed-out", front_url: str | None = None,
                    clock: Clock = system_clock) -> web.Application:
    settings = DemoSettings(key_endpoint, expected_signer, end_session, session_cookie_name,
                            signed_out_path, front_url)
    app = web.Application()
    app[DEMO_KEY] = settings

    async def http_client(app: web.Application) -> AsyncIterator[None]:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
            app[_KEYS] = PublicKeys(key_endpoint, http)
            yield

    app.cleanup_ctx.append(http_client)

    async def identity(request: web.Request) -> web.Response:
        oidc = [(k, v) for k, v in request.headers.items() if k.lower().startswith(OIDC_PREFIX)]
        others = [(k, v) for k, v in request.headers.items() if not k.lower().startswith(OIDC_PREFIX)]
        token = request.headers.get("x-amzn-oidc-data")
        if not token:
            return _html(not_behind_albauth_page(settings.front_url, others))
        verification = await verify_oidc_data(token, request.app[_KEYS], clock=clock,
                                              expected_signer=settings.expected_signer)
        view = IdentityView(verification, oidc, others, key_endpoint, settings.expected_signer, "/logout")
        return _html(identity_page(view))

    async def logout(request: web.Request) -> web.Response:
        proto = request.headers.get("X-Forwarded-Proto", request.scheme)
        back = f"{proto}://{request.host}{settings.signed_out_path}"
        location = settings.end_session(back) if settings.end_session else back
        response = web.Response(status=302, headers={"Location": location, **_NO_STORE})
        # ALB has no logout endpoint: the app expires every shard itself, whether or not
        # this session used it, with the attributes the load balancer set them with.
        for i in range(MAX_SHARDS):
            response.set_cookie(f"{settings.session_cookie_name}-{i}", "", path="/", max_age=0,
                                expires="Thu, 01 Jan 1970 00:00:00 GMT", httponly=True,
                                secure=True if proto == "https" else None)
        return response

    async def signed_out(_: web.Request) -> web.Response:
        return _html(signed_out_page("/", settings.session_cookie_name))

    app.router.add_get("/logout", logout)
    app.router.add_get(signed_out_path, signed_out)
    app.router.add_get("/{tail:.*}", identity)
    return app


def _html(text: str) -> web.Response:
    # The pages show tokens: never let a shared cache keep them.
    return web.Response(text=text, content_type="text/html", headers=_NO_STORE)
