"""ALB's own answers: 502/503/504 when a target fails, 400/405/463 for requests ALB refuses
(spec 6.1, 6.2)."""

from __future__ import annotations

import asyncio
import dataclasses
import time

import aiohttp
from aiohttp import web
from aiohttp.test_utils import unused_port
from foundation_helpers import address, proxy_settings, raw_http

from albauth.config.model import TargetGroup

from .helpers import EchoUpstream, StartAlbauth, alb_page, get_echo

# --- ALB's own answers -----------------------------------------------------------------

async def test_target_down_is_502_with_albs_page(start_albauth: StartAlbauth, client: aiohttp.ClientSession) -> None:
    closed = f"http://127.0.0.1:{unused_port()}"
    base, _ = address(await start_albauth(proxy_settings({"app": [closed]})))
    async with client.get(base + "/") as resp:
        assert resp.status == 502
        assert resp.headers["Server"] == "awselb/2.0"
        assert resp.headers["Content-Type"].startswith("text/html")
        assert await resp.read() == alb_page(502, "Bad Gateway")


async def test_slow_target_is_504_after_the_idle_timeout(echo_upstream: EchoUpstream, start_albauth: StartAlbauth,
                                                         client: aiohttp.ClientSession) -> None:
    async def slow(_: web.Request) -> web.Response:
        await asyncio.sleep(2)
        return web.Response(text="too late")

    upstream = await echo_upstream([("GET", "/slow", slow)])
    settings = proxy_settings({"app": [str(upstream.make_url(""))]}, proxy="idle_timeout: 0.5")
    base, _ = address(await start_albauth(settings))
    started = time.monotonic()
    async with client.get(base + "/slow") as resp:
        assert resp.status == 504
        assert resp.headers["Server"] == "awselb/2.0"
        assert await resp.read() == alb_page(504, "Gateway Time-out")
    assert time.monotonic() - started < 1.8


async def test_target_group_without_targets_is_503(echo_upstream: EchoUpstream, start_albauth: StartAlbauth,
                                                   client: aiohttp.ClientSession) -> None:
    """ALB answers 503 when a forward's target group has no registered targets.
    The config loader insists on at least one target, so the empty group is added to the model."""
    upstream = await echo_upstream()
    settings = proxy_settings({"app": [str(upstream.make_url(""))], "empty": ["http://127.0.0.1:1"]},
                              rules="""
                              - Priority: 1
                                Conditions: [{Field: path-pattern, Values: ["/empty/*"]}]
                                Actions: [{Type: forward, TargetGroupArn: empty}]
                              """)
    settings = dataclasses.replace(settings, target_groups={**settings.target_groups,
                                                            "empty": TargetGroup("empty", ())})
    base, _ = address(await start_albauth(settings))
    assert (await get_echo(client, base + "/other"))["path"] == "/other"
    async with client.get(base + "/empty/x") as resp:
        assert resp.status == 503
        assert resp.headers["Server"] == "awselb/2.0"
        body = await resp.read()
    assert body == alb_page(503, "Service Temporarily Unavailable") and len(body) == 162  # spec 6.2


async def test_more_than_30_forwarded_for_addresses_is_463(proxied: tuple[str, int],
                                                           client: aiohttp.ClientSession) -> None:
    """Spec 5.3 / 6.1: X-Forwarded-For with more than 30 addresses."""
    base, _ = proxied
    thirty = ", ".join(f"10.0.0.{i}" for i in range(30))
    assert (await get_echo(client, base + "/", headers={"X-Forwarded-For": thirty}))["method"] == "GET"
    async with client.get(base + "/", headers={"X-Forwarded-For": thirty + ", 10.0.1.1"}) as resp:
        assert resp.status == 463
        assert resp.headers["Server"] == "awselb/2.0"


async def test_a_20k_single_header_is_400(proxied: tuple[str, int]) -> None:
    """Spec 6.1: a single request header is limited to 16K."""
    _, port = proxied
    request = b"GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + b"a" * 20 * 1024 + b"\r\nConnection: close\r\n\r\n"
    status, headers, body = await raw_http(port, request)
    assert status == 400
    assert headers["server"] == "awselb/2.0"
    assert body == alb_page(400, "Bad Request")


async def test_a_request_line_over_16k_is_400(proxied: tuple[str, int]) -> None:
    _, port = proxied
    request = b"GET /" + b"a" * 17 * 1024 + b" HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
    status, headers, _ = await raw_http(port, request)
    assert status in (400, 414)
    assert headers["server"] == "awselb/2.0"


async def test_trace_is_405(proxied: tuple[str, int]) -> None:
    _, port = proxied
    status, headers, body = await raw_http(port, b"TRACE / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
    assert status == 405
    assert headers["server"] == "awselb/2.0"
    assert body == alb_page(405, "Method Not Allowed")
