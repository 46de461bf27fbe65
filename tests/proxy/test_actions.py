"""fixed-response, redirect and weighted forward actions (spec 7.3)."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import unused_port
from foundation_helpers import address, proxy_settings, raw_http

from .helpers import EchoUpstream, StartAlbauth

# --- fixed-response and redirect actions (spec 7.3) ------------------------------------

@pytest.mark.parametrize(("status", "ctype", "body"), [
    ("200", "text/plain", "healthy"),
    ("404", "application/json", '{"error": "not here"}'),
    ("503", "text/html", "<h1>maintenance</h1>" + "x" * 1000),
])
async def test_fixed_response_returns_status_content_type_and_body(start_albauth: StartAlbauth,
                                                                   client: aiohttp.ClientSession, status: str,
                                                                   ctype: str, body: str) -> None:
    """Checklist 65."""
    default = json.dumps([{"Type": "fixed-response", "FixedResponseConfig": {
        "StatusCode": status, "ContentType": ctype, "MessageBody": body}}])
    base, _ = address(await start_albauth(proxy_settings({"app": ["http://127.0.0.1:1"]}, default=default)))
    async with client.get(base + "/anything") as resp:
        assert resp.status == int(status)
        assert resp.content_type == ctype
        assert resp.headers["Server"] == "awselb/2.0"
        assert await resp.text() == body


async def test_redirect_fills_placeholders(start_albauth: StartAlbauth) -> None:
    """Checklist 64: `http://a.test/p?q=1` -> 301 `https://a.test:443/p?q=1`."""
    default = json.dumps([{"Type": "redirect", "RedirectConfig": {
        "Protocol": "HTTPS", "Port": "443", "Host": "#{host}", "Path": "/#{path}", "Query": "#{query}",
        "StatusCode": "HTTP_301"}}])
    _, port = address(await start_albauth(proxy_settings({"app": ["http://127.0.0.1:1"]}, default=default)))
    status, headers, _ = await raw_http(port,
                                        b"GET /p?q=1 HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n")
    assert status == 301
    assert headers["location"] == "https://a.test:443/p?q=1"
    assert headers["server"] == "awselb/2.0"


async def test_redirect_with_fixed_parts_and_302(start_albauth: StartAlbauth) -> None:
    default = json.dumps([{"Type": "redirect", "RedirectConfig": {
        "Host": "new.example.com", "Path": "/moved/#{path}", "Query": "from=#{host}&#{query}",
        "StatusCode": "HTTP_302"}}])
    _, port = address(await start_albauth(proxy_settings({"app": ["http://127.0.0.1:1"]}, default=default)))
    status, headers, _ = await raw_http(port, b"GET /a/b?x=%20y HTTP/1.1\r\nHost: old.test:81\r\n"
                                              b"Connection: close\r\n\r\n")
    assert status == 302
    assert headers["location"] == f"http://new.example.com:{port}/moved/a/b?from=old.test&x=%20y"


# --- Weighted forward (spec 7.3) -------------------------------------------------------

async def test_weighted_forward_splits_10_20_and_weight_0_gets_none(echo_upstream: EchoUpstream,
                                                                    start_albauth: StartAlbauth) -> None:
    """Checklist 63: weights 10/20 route about 1/3 and 2/3 of 3000 requests (within 5 %)."""

    def named(name: str) -> Any:
        async def who(_: web.Request) -> web.Response:
            return web.Response(text=name)
        return who

    one = await echo_upstream([("GET", "/who", named("one"))])
    two = await echo_upstream([("GET", "/who", named("two"))])
    closed = f"http://127.0.0.1:{unused_port()}"  # a request sent here would come back 502
    default = json.dumps([{"Type": "forward", "ForwardConfig": {"TargetGroups": [
        {"TargetGroupArn": "one", "Weight": 10}, {"TargetGroupArn": "two", "Weight": 20},
        {"TargetGroupArn": "zero", "Weight": 0}]}}])
    settings = proxy_settings({"one": [str(one.make_url(""))], "two": [str(two.make_url(""))], "zero": [closed]},
                              default=default)
    base, _ = address(await start_albauth(settings))
    counts: Counter[str] = Counter()
    gate = asyncio.Semaphore(32)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=32)) as session:

        async def one_request() -> None:
            async with gate, session.get(base + "/who") as resp:
                counts[await resp.text() if resp.status == 200 else str(resp.status)] += 1

        await asyncio.gather(*(one_request() for _ in range(3000)))
    assert sum(counts.values()) == 3000
    assert set(counts) <= {"one", "two"}, counts
    assert abs(counts["one"] / 3000 - 1 / 3) < 0.05, counts
    assert abs(counts["two"] / 3000 - 2 / 3) < 0.05, counts
