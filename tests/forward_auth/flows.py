"""The browser flows each controller must carry: a login, no session, a refresh. The
browser talks to the controller's port only (app.test lives there) and to the provider."""

from __future__ import annotations

from albauth.clock import FakeClock
from albauth.devidp import DevIdP
from tests.alb.browser import Browser
from tests.alb.conftest import Upstream, header
from tests.support import raw_http

IDENTITY = ("x-amzn-oidc-accesstoken", "x-amzn-oidc-identity", "x-amzn-oidc-data")


async def login(browser: Browser, url: str = "http://app.test/private/page?a=1&b=2") -> None:
    """Open a protected page, follow the controller to the provider, sign in, come back."""
    first = await browser.get(url)
    assert first.status == 302, (first.status, first.body[:300])
    if "/oauth2/start" in first.location:  # a controller that redirects to the start page
        first = await browser.get(_absolute(first.location))
        assert first.status == 302, (first.status, first.body[:300])
    assert "/authorize?" in first.location, first.location
    assert "redirect_uri=http%3A%2F%2Fapp.test%2Foauth2%2Fidpresponse" in first.location
    callback = await browser.sign_in(first.location)
    assert callback.startswith("http://app.test/oauth2/idpresponse?"), callback
    done = await browser.get(callback)
    assert done.status == 302, (done.status, done.body[:300])
    assert done.location == url
    assert browser.cookies("app.test")


async def assert_login_through(browser: Browser, upstream: Upstream, idp: DevIdP) -> None:
    await login(browser)
    page = await browser.get("http://app.test/private/page?a=1&b=2")
    assert page.status == 200, (page.status, page.body[:300])
    record = upstream.last
    assert record["path"] == "/private/page?a=1&b=2"
    for name in IDENTITY:
        assert header(record, name), (name, record["headers"])
    alice = idp.settings.user("alice")
    assert alice is not None and header(record, "x-amzn-oidc-identity") == alice.sub


async def assert_no_session_is_not_forwarded(browser: Browser, upstream: Upstream, idp: DevIdP) -> None:
    seen = len(upstream.seen)
    reply = await browser.get("http://app.test/private")
    assert reply.status in (302, 401), reply.status
    if reply.status == 302:
        assert "/oauth2/start" in reply.location or reply.location.startswith(idp.settings.issuer)
    assert len(upstream.seen) == seen  # nothing reached the app


async def assert_refresh_through(browser: Browser, upstream: Upstream, clock: FakeClock, ttl: int) -> None:
    await login(browser)
    await browser.get("http://app.test/private/page?a=1&b=2")
    token = header(upstream.last, "x-amzn-oidc-accesstoken")
    clock.advance(ttl + 1)
    lines = len(browser.cookie_lines)
    page = await browser.get("http://app.test/private/again")
    assert page.status == 200, (page.status, page.body[:300])
    assert header(upstream.last, "x-amzn-oidc-accesstoken") not in (None, token)
    # The re-issued session cookie came back through the controller.
    assert any(c.startswith("AWSELBAuthSessionCookie") for c in browser.cookie_lines[lines:])
    again = await browser.get("http://app.test/private/third")
    assert again.status == 200
    assert header(upstream.last, "x-amzn-oidc-accesstoken") == header(upstream.seen[-2], "x-amzn-oidc-accesstoken")


async def raw_get(port: int, target: str) -> int:
    """A request-target sent byte for byte (a client library would resolve its dot segments)."""
    status, _, _ = await raw_http(port, f"GET {target} HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n"
                                  .encode())
    return status


def _absolute(location: str) -> str:
    return f"http://app.test{location}" if location.startswith("/") else location


async def assert_auth_answer_is_not_for_the_browser(browser: Browser, upstream: Upstream) -> None:
    """The controller's own question: a logged-in browser asking it directly must not read
    the access token off the answer's headers (XSS could, with a same-origin fetch)."""
    await login(browser)
    ways: list[dict[str, str]] = [{}, {"X-Original-URL": "http://app.test/private", "X-Original-Method": "GET"},
                                  {"X-Forwarded-Uri": "/private", "X-Forwarded-Method": "GET"}]
    for path in ("/oauth2/auth", "/oauth2/auth/private", "/oauth2/auth?x=1"):
        for headers in ways:
            reply = await browser.get(f"http://app.test{path}", headers=headers)
            assert not [k for k in reply.headers if k.lower().startswith("x-amzn-oidc")], (path, headers, reply.status)
