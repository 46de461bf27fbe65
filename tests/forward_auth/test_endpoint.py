"""`/oauth2/auth` and `/oauth2/start` over real HTTP, with the test playing the controller
from loopback (a trusted proxy by default)."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

import pytest

from albauth.clock import FakeClock
from albauth.devidp import DevIdP
from tests.alb.browser import Browser
from tests.alb.conftest import Upstream, oidc_action

from .conftest import ACCESS_TOKEN_TTL, FaAlb, StartFa, forward_rule

IDENTITY = ("x-amzn-oidc-accesstoken", "x-amzn-oidc-identity", "x-amzn-oidc-data")


async def login(alb: FaAlb, rd: str = "http://app.test/private") -> Browser:
    """Log in through /oauth2/start as a browser would (app.test routed to albauth)."""
    browser = alb.browser()
    start = await browser.get(f"http://app.test/oauth2/start?rd={quote(rd, safe='')}",
                              headers={"X-Forwarded-Proto": "http"})
    assert start.status == 302, (start.status, start.body[:300])
    callback = await browser.sign_in(start.location)
    done = await browser.get(callback, headers={"X-Forwarded-Proto": "http"})
    assert done.status == 302, (done.status, done.body[:300])
    assert done.location == (f"http://app.test{rd}" if rd.startswith("/") else rd)
    return browser


async def ask_forwarded(alb: FaAlb, uri: str, method: str = "GET") -> Any:
    """The controller's subrequest, Traefik and Caddy style."""
    headers = {"X-Forwarded-Uri": uri, "X-Forwarded-Method": method, "X-Forwarded-Host": "app.test",
               "X-Forwarded-Proto": "https"}
    return await alb.http.get(f"{alb.url}/oauth2/auth", headers=headers, allow_redirects=False)


async def ask(alb: FaAlb, browser: Browser | None, *, url: str = "http://app.test/private",
              method: str = "GET", headers: dict[str, str] | None = None) -> Any:
    """The controller's subrequest, ingress-nginx style."""
    hdrs = {"X-Original-URL": url, "X-Original-Method": method, "Host": "app.test"}
    if browser is not None and browser.cookies("app.test"):
        hdrs["Cookie"] = "; ".join(f"{k}={v}" for k, v in browser.cookies("app.test").items())
    hdrs.update(headers or {})
    return await alb.http.get(f"{alb.url}/oauth2/auth", headers=hdrs, allow_redirects=False)


async def test_auth_without_a_session_is_401_never_a_redirect(start_fa: StartFa) -> None:
    alb = await start_fa()
    async with await ask(alb, None) as resp:
        assert resp.status == 401
        assert "Location" not in resp.headers
        assert "Set-Cookie" not in resp.headers  # no nonce cookie: no login started here
        # For controllers that show the auth response (Traefik, Envoy): a way to sign in.
        assert resp.content_type == "text/html"
        assert '/oauth2/start?rd=http%3A%2F%2Fapp.test%2Fprivate"' in await resp.text()


async def test_auth_with_a_session_is_200_with_the_identity_headers(start_fa: StartFa, idp: DevIdP) -> None:
    alb = await start_fa()
    browser = await login(alb)
    async with await ask(alb, browser) as resp:
        assert resp.status == 200
        assert await resp.read() == b""
        for name in IDENTITY:
            assert resp.headers.get(name), name
        assert resp.headers["x-amzn-oidc-identity"] == idp.settings.user("alice").sub  # type: ignore[union-attr]


async def test_auth_refreshes_through_the_subrequest_and_reissues_the_cookies(
        start_fa: StartFa, clock: FakeClock) -> None:
    alb = await start_fa()
    browser = await login(alb)
    async with await ask(alb, browser) as before:
        token = before.headers["x-amzn-oidc-accesstoken"]
    clock.advance(ACCESS_TOKEN_TTL + 1)
    async with await ask(alb, browser) as resp:
        assert resp.status == 200
        assert resp.headers["x-amzn-oidc-accesstoken"] != token
        assert any(c.startswith("AWSELBAuthSessionCookie") for c in resp.headers.getall("Set-Cookie", []))


async def test_forward_rule_without_authentication_is_200_without_identity(start_fa: StartFa) -> None:
    alb = await start_fa(rules=[forward_rule(1, "/public/*")])
    async with await ask(alb, None, url="http://app.test/public/x") as resp:
        assert resp.status == 200
        assert not [h for h in resp.headers if h.lower().startswith("x-amzn-oidc")]


@pytest.mark.parametrize("reported", [
    "/public/../admin", "/public/%2e%2e/admin", "/public//../admin", "/public/./../admin"])
async def test_reported_path_is_normalized_before_the_rules(start_fa: StartFa, reported: str) -> None:
    # /public/* is open, the rest needs a login: /public/../admin is /admin to the upstream.
    alb = await start_fa(rules=[forward_rule(1, "/public/*")])
    async with await ask(alb, None, url=f"http://app.test{reported}") as resp:
        assert resp.status == 401
    async with await ask_forwarded(alb, reported) as resp:
        assert resp.status == 401
    async with await ask_forwarded(alb, "/public/x") as resp:
        assert resp.status == 200


@pytest.mark.parametrize("reported", ["/public/..%2fadmin", "/public/..%5cadmin", "/public/..\\admin",
                                      "/public/..;/admin", "/public/%00", "/../admin", "public/x"])
async def test_reported_path_that_cannot_be_normalized_is_400(start_fa: StartFa, reported: str) -> None:
    alb = await start_fa(rules=[forward_rule(1, "/public/*")])
    async with await ask_forwarded(alb, reported) as resp:
        assert resp.status == 400


async def test_both_ways_of_reporting_is_400(start_fa: StartFa) -> None:
    # Caddy sends X-Forwarded-Uri and passes the browser's headers: a browser adding
    # X-Original-URL /public/x must not choose what is checked.
    alb = await start_fa(rules=[forward_rule(1, "/public/*")])
    async with await ask(alb, None, url="http://app.test/public/x",
                         headers={"X-Forwarded-Uri": "/admin", "X-Forwarded-Method": "GET"}) as resp:
        assert resp.status == 400


async def test_repeated_report_is_400(start_fa: StartFa) -> None:
    alb = await start_fa(rules=[forward_rule(1, "/public/*")])
    async with alb.http.get(f"{alb.url}/oauth2/auth", headers=[
            ("X-Forwarded-Uri", "/public/x"), ("X-Forwarded-Uri", "/admin"),
            ("X-Forwarded-Method", "GET")]) as resp:
        assert resp.status == 400


async def test_untrusted_peer_is_403_and_logged(start_fa: StartFa, caplog: pytest.LogCaptureFixture) -> None:
    alb = await start_fa(forward_auth={"enabled": True, "trusted_proxies": ["10.0.0.0/8"]},
                         rules=[forward_rule(1, "/public/*")])
    with caplog.at_level(logging.WARNING, "albauth.forward_auth"):
        async with await ask(alb, None, url="http://app.test/public/x") as resp:
            assert resp.status == 403
        async with alb.http.get(f"{alb.url}/oauth2/start?rd=/x", allow_redirects=False) as resp:
            assert resp.status == 403
    assert sum("trusted_proxies" in r.getMessage() for r in caplog.records) == 2


async def test_fixed_response_rule_is_403_so_the_controller_forwards_nothing(start_fa: StartFa) -> None:
    blocked = {"Priority": 1, "Conditions": [{"Field": "path-pattern", "Values": ["/blocked/*"]}],
               "Actions": [{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404"}}]}
    alb = await start_fa(rules=[blocked])
    async with await ask(alb, None, url="http://app.test/blocked/x") as resp:
        assert resp.status == 403


async def test_redirect_rule_behind_authentication_is_401_then_403(start_fa: StartFa, idp: DevIdP) -> None:
    moved = {"Priority": 1, "Conditions": [{"Field": "path-pattern", "Values": ["/old/*"]}],
             "Actions": [oidc_action(idp), {"Type": "redirect", "Order": 2, "RedirectConfig": {
                 "Path": "/new", "StatusCode": "HTTP_302"}}]}
    alb = await start_fa(rules=[moved])
    async with await ask(alb, None, url="http://app.test/old/x") as resp:
        assert resp.status == 401
    browser = await login(alb)
    async with await ask(alb, browser, url="http://app.test/old/x") as resp:
        assert resp.status == 403


async def test_rules_see_the_reported_method_and_host(start_fa: StartFa) -> None:
    posts = {"Priority": 1, "Conditions": [{"Field": "http-request-method", "Values": ["POST"]},
                                           {"Field": "host-header", "Values": ["open.test"]}],
             "Actions": [{"Type": "forward", "TargetGroupArn": "app"}]}
    alb = await start_fa(rules=[posts])
    async with await ask(alb, None, url="http://open.test/x", method="POST") as resp:
        assert resp.status == 200
    async with await ask(alb, None, url="http://open.test/x", method="GET") as resp:
        assert resp.status == 401
    async with await ask(alb, None, url="http://app.test/x", method="POST") as resp:
        assert resp.status == 401


async def test_disabled_the_paths_are_ordinary_paths(start_fa: StartFa, upstream: Upstream) -> None:
    alb = await start_fa(forward_auth={"enabled": False}, rules=[forward_rule(1, "/oauth2/*")])
    async with await ask(alb, None) as resp:
        assert resp.status == 200
    assert upstream.last["path"] == "/oauth2/auth"


async def test_start_with_a_path_rd_returns_to_it_on_the_same_host(start_fa: StartFa) -> None:
    alb = await start_fa()
    browser = await login(alb, rd="/deep/link?a=1&b=2")
    assert browser.cookies("app.test")


async def test_start_takes_the_return_url_from_x_auth_request_redirect(start_fa: StartFa) -> None:
    alb = await start_fa()
    browser = alb.browser()
    start = await browser.get("http://app.test/oauth2/start", headers={
        "X-Forwarded-Proto": "http", "X-Auth-Request-Redirect": "/from/header?x=1&y=2"})
    assert start.status == 302
    done = await browser.get(await browser.sign_in(start.location), headers={"X-Forwarded-Proto": "http"})
    assert done.location == "http://app.test/from/header?x=1&y=2"


async def test_start_for_an_open_page_redirects_straight_back(start_fa: StartFa) -> None:
    alb = await start_fa(rules=[forward_rule(1, "/public/*")])
    async with alb.http.get(f"{alb.url}/oauth2/start?rd=/public/x", headers={"Host": "app.test"},
                            allow_redirects=False) as resp:
        assert resp.status == 302
        assert resp.headers["Location"] == "https://app.test/public/x"


async def test_envoy_ext_authz_reports_the_original_path_after_the_prefix(start_fa: StartFa) -> None:
    # ext_authz's HTTP service with path_prefix /oauth2/auth: the original method, Host and
    # path, the prefix in front.
    alb = await start_fa(rules=[forward_rule(1, "/public/*")])
    headers = {"Host": "app.test", "X-Forwarded-Proto": "https"}
    async with alb.http.get(f"{alb.url}/oauth2/auth/public/x?y=1", headers=headers) as resp:
        assert resp.status == 200
    async with alb.http.post(f"{alb.url}/oauth2/auth/admin", headers=headers) as resp:
        assert resp.status == 401
    async with alb.http.get(f"{alb.url}/oauth2/auth/public/%2e%2e/admin", headers=headers) as resp:
        assert resp.status == 401
    async with alb.http.get(f"{alb.url}/oauth2/auth/admin", headers={
            **headers, "X-Original-URL": "http://app.test/public/x", "X-Original-Method": "GET"}) as resp:
        assert resp.status == 400


@pytest.mark.parametrize("host", ["app.test:99999", "app.test:x", "evil.test/x", "a b", "user@app.test", ""])
async def test_a_reported_host_that_is_not_a_host_is_400(start_fa: StartFa, host: str) -> None:
    alb = await start_fa(rules=[forward_rule(1, "/public/*")])
    async with alb.http.get(f"{alb.url}/oauth2/auth", headers={
            "X-Forwarded-Uri": "/public/x", "X-Forwarded-Method": "GET", "X-Forwarded-Host": host or "",
            "Host": host or "x"}) as resp:
        assert resp.status == 400 if host else resp.status in (200, 400)
    if "/" not in host:  # in a URL, `/` ends the host
        async with await ask(alb, None, url=f"http://{host}/public/x") as resp:
            assert resp.status == 400
