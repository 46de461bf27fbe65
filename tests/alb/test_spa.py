"""Opt-ins for APIs and single-page apps (each off by default, so the default is ALB's):
a 401 naming the login URL for script requests, CORS preflights let through, and a page
instead of an endless sign-in loop."""

from __future__ import annotations

import pytest

from albauth.devidp import DevIdP

from .conftest import StartAlb, Upstream

XHR_HEADERS = [
    {"Accept": "application/json"},
    {"X-Requested-With": "XMLHttpRequest"},
    {"Sec-Fetch-Mode": "cors", "Accept": "*/*"},
]
PREFLIGHT = {"Origin": "https://spa.example", "Access-Control-Request-Method": "DELETE"}


@pytest.mark.parametrize("headers", XHR_HEADERS, ids=["accept-json", "x-requested-with", "sec-fetch-cors"])
async def test_a_script_request_gets_a_302_by_default_as_from_alb(start_alb: StartAlb, headers: dict[str, str]) -> None:
    alb = await start_alb()
    assert (await alb.browser.get("https://app.test/api/items", headers=headers)).status == 302


@pytest.mark.parametrize("headers", XHR_HEADERS, ids=["accept-json", "x-requested-with", "sec-fetch-cors"])
async def test_with_xhr_401_a_script_request_gets_a_401_naming_the_login_url(
        start_alb: StartAlb, idp: DevIdP, upstream: Upstream, headers: dict[str, str]) -> None:
    alb = await start_alb(auth={"albauth": {"xhr_401": True}})
    reply = await alb.browser.get("https://app.test/api/items",
                                  headers={**headers, "Referer": "https://app.test/app/page?tab=2"})
    assert reply.status == 401
    body = reply.json()
    assert body["error"] == "login_required"
    assert reply.headers["X-Login-Url"] == body["login_url"]
    assert body["login_url"].startswith(f"{idp.settings.issuer}/authorize?")
    assert "AWSALBAuthNonce" in alb.browser.cookies()
    assert not upstream.seen
    # The page navigates to login_url; after the login the browser is back on the page.
    callback = await alb.browser.sign_in(body["login_url"])
    done = await alb.browser.get(callback)
    assert done.status == 302 and done.location.endswith("/app/page?tab=2")
    assert (await alb.browser.get("https://app.test/api/items", headers=headers)).status == 200


async def test_with_xhr_401_a_page_load_still_gets_the_302(start_alb: StartAlb) -> None:
    alb = await start_alb(auth={"albauth": {"xhr_401": True}})
    page = {"Accept": "text/html,application/xhtml+xml,application/json;q=0.9", "Sec-Fetch-Mode": "navigate"}
    assert (await alb.browser.get("https://app.test/", headers=page)).status == 302


async def test_a_foreign_referer_is_not_where_the_login_returns(start_alb: StartAlb) -> None:
    alb = await start_alb(auth={"albauth": {"xhr_401": True}})
    reply = await alb.browser.get("https://app.test/api/items", headers={
        "Accept": "application/json", "Referer": "https://evil.example/phish"})
    callback = await alb.browser.sign_in(reply.json()["login_url"])
    done = await alb.browser.get(callback)
    assert done.location == "https://app.test/api/items"


async def test_a_cors_preflight_goes_to_login_by_default(start_alb: StartAlb, upstream: Upstream) -> None:
    alb = await start_alb()
    assert (await alb.browser.request("OPTIONS", "https://app.test/api/items", headers=PREFLIGHT)).status == 302
    assert not upstream.seen


async def test_with_allow_cors_preflight_the_target_answers_it_without_identity(
        start_alb: StartAlb, upstream: Upstream) -> None:
    alb = await start_alb(auth={"albauth": {"allow_cors_preflight": True}})
    reply = await alb.browser.request("OPTIONS", "https://app.test/api/items", headers=PREFLIGHT)
    assert reply.status == 200
    assert upstream.last["method"] == "OPTIONS"
    assert not [k for k, _ in upstream.last["headers"] if k.lower().startswith("x-amzn-oidc-")]
    # Only preflights: a plain OPTIONS, or a DELETE, still needs a session.
    assert (await alb.browser.request("OPTIONS", "https://app.test/api/items")).status == 302
    assert (await alb.browser.request("DELETE", "https://app.test/api/items", headers=PREFLIGHT)).status == 302


async def test_a_sign_in_loop_ends_on_a_page_that_explains(start_alb: StartAlb) -> None:
    alb = await start_alb(auth={"albauth": {"redirect_loop_limit": 3, "redirect_loop_window": 60}})
    for _ in range(3):  # cookies that never stick: every request starts a login again
        assert (await alb.browser.get("https://app.test/")).status == 302
    looping = await alb.browser.get("https://app.test/")
    assert looping.status == 401
    assert b"going round in circles" in looping.body
    alb.browser.jar.clear()  # a browser that lost the counter starts over
    assert (await alb.browser.get("https://app.test/")).status == 302
