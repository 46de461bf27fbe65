"""A fresh browser's complete authorization-code login through a proxy (albauth or the peer,
Apache + mod_auth_openidc) and the built-in provider, on asyncio + aiohttp: the same steps
as http_login.login() and peer.peer_login(), the same form parser, but many at a time.

Each login is a new browser: its own cookie jar (aiohttp's is never used) and, unless the
caller shares one, its own connections (keep-alive within the login, like a browser)."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlencode

import aiohttp
from common import SESSION_COOKIE, UPSTREAM_BODY
from http_login import login_form
from peer import PEER_CALLBACK

# Without a browser's Accept, mod_auth_openidc answers 401 instead of redirecting.
BROWSER_HEADERS = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
TIMEOUT = aiohttp.ClientTimeout(total=30, connect=10)


class LoginFailed(Exception):
    """One step of the flow answered something else than a browser expects."""


@dataclass(frozen=True)
class Flow:
    """Where a login goes: the proxy's base URL, its callback path and the session cookie
    prefix it sets (albauth: AWSELBAuthSessionCookie-N shards; the peer: its own)."""

    base: str
    callback: str
    session_prefix: str

    @classmethod
    def albauth(cls, base: str) -> Flow:
        return cls(base, "/oauth2/idpresponse", SESSION_COOKIE + "-")

    @classmethod
    def peer(cls, base: str) -> Flow:
        return cls(base, PEER_CALLBACK, "mod_auth_openidc_session")


@dataclass
class Jar:
    """One browser's cookies for one origin: set, replaced, expired by Set-Cookie."""

    cookies: dict[str, str] = field(default_factory=dict)

    def keep(self, response: aiohttp.ClientResponse) -> None:
        for line in response.headers.getall("Set-Cookie", ()):
            pair, _, attrs = line.partition(";")
            name, _, value = pair.strip().partition("=")
            low = attrs.lower()
            if not value or "max-age=0" in low or "1970" in low:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value

    def header(self) -> dict[str, str]:
        return {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())} if self.cookies else {}

    def session(self, prefix: str) -> dict[str, str]:
        return {k: v for k, v in self.cookies.items() if k.startswith(prefix)}


async def login(http: aiohttp.ClientSession, flow: Flow, username: str = "alice") -> Jar:
    """GET / (302 to the provider), the provider's page, the form POST (302 to the
    callback), the callback (302 with the session cookies). Returns the proxy's jar."""
    jar = Jar()
    async with http.get(flow.base + "/", headers=BROWSER_HEADERS, allow_redirects=False) as r:
        await r.read()
        _expect(r, 302, "first request")
        jar.keep(r)
        authorize = r.headers.get("Location", "")
    async with http.get(authorize, headers=BROWSER_HEADERS, allow_redirects=False) as r:
        page = await r.text()
        _expect(r, 200, "provider login page")
    target, fields = login_form(authorize, _form_only(page), username)
    async with http.post(target, data=urlencode(fields), allow_redirects=False,
                         headers={**BROWSER_HEADERS, "Content-Type": "application/x-www-form-urlencoded"}) as r:
        await r.read()
        _expect(r, 302, "provider form post")
        callback = r.headers.get("Location", "")
    if not callback.startswith(flow.base + flow.callback):
        raise LoginFailed(f"provider redirected to {callback[:120]!r}, not the callback")
    async with http.get(callback, headers={**BROWSER_HEADERS, **jar.header()}, allow_redirects=False) as r:
        await r.read()
        _expect(r, 302, "callback")
        jar.keep(r)
    if not jar.session(flow.session_prefix):
        raise LoginFailed("no session cookie after the callback")
    return jar


async def check_signed_in(http: aiohttp.ClientSession, flow: Flow, jar: Jar) -> None:
    """GET / with the session: the upstream's 200 "ok\\n", not a login redirect."""
    async with http.get(flow.base + "/", headers={**BROWSER_HEADERS, **jar.header()}, allow_redirects=False) as r:
        body = await r.read()
        if r.status != 200 or body != UPSTREAM_BODY.encode():
            raise LoginFailed(f"signed-in request: {r.status} {body[:80]!r}")


def new_browser(limit: int = 8) -> aiohttp.ClientSession:
    """A client with its own connections and no cookie jar (cookies are the Jar's job)."""
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=limit), timeout=TIMEOUT,
                                 cookie_jar=aiohttp.DummyCookieJar())


async def full_login(flow: Flow, shared: aiohttp.ClientSession | None = None) -> Jar:
    """One verified login as a new browser (new connections unless `shared` is given)."""
    if shared is not None:
        jar = await login(shared, flow)
        await check_signed_in(shared, flow, jar)
        return jar
    async with new_browser() as http:
        jar = await login(http, flow)
        await check_signed_in(http, flow, jar)
        return jar


def failure_kind(exc: BaseException) -> str:
    if isinstance(exc, LoginFailed):
        return str(exc)
    if isinstance(exc, TimeoutError):
        return "client timeout"
    return type(exc).__name__ + (f" ({exc})" if str(exc) else "")


def _form_only(page: str) -> str:
    """The <form> element alone: the page's styles and text cost the client's parser
    more than the form (the client shares a CPU with the provider)."""
    start, end = page.find("<form"), page.find("</form>")
    return page[start:end + 7] if 0 <= start < end else page


def _expect(r: aiohttp.ClientResponse, status: int, step: str) -> None:
    if r.status != status:
        raise LoginFailed(f"{step}: expected {status}, got {r.status}")
