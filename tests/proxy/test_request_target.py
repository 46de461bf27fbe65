"""The request as the client sent it reaches the target: request-target, methods,
bodies, `Expect: 100-continue`, chunked framing."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest
from aiohttp import web
from foundation_helpers import address, headers_of, proxy_settings, raw_http

from .helpers import EchoUpstream, StartAlbauth, get_echo

# --- The request as sent --------------------------------------------------------------

@pytest.mark.parametrize("target", [
    "/a%3Bb/~user/caf%C3%A9?x=%41&y=a+b%20c&z",
    "/p;matrix=1/single?q=%2F%3F%26&=&&empty=",
    "/search?q=%E2%9C%93&Q=%e2%9c%93&sort=-date",
])
async def test_path_and_query_pass_exactly_as_sent(proxied: tuple[str, int], target: str) -> None:
    """ALB does not rewrite the request-target: percent-encoding, case and order are kept
    (the path once normalized, albauth.paths; the query always)."""
    _, port = proxied
    status, _, body = await raw_http(port, f"GET {target} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n".encode())
    assert status == 200
    assert json.loads(body)["raw_path"] == target


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "PROPFIND"])
async def test_methods_and_bodies_are_forwarded(proxied: tuple[str, int], client: aiohttp.ClientSession,
                                                method: str) -> None:
    base, _ = proxied
    body = f"payload for {method} \u2713".encode()
    seen = await get_echo(client, base + "/m?x=1", method=method, data=body,
                          headers={"Content-Type": "application/octet-stream"})
    assert seen["method"] == method
    assert seen["body"].encode() == body
    assert headers_of(seen, "Content-Length") == [str(len(body))]


async def test_head_is_forwarded_without_a_body(proxied: tuple[str, int], client: aiohttp.ClientSession) -> None:
    base, _ = proxied
    async with client.head(base + "/h") as resp:
        assert resp.status == 200
        assert int(resp.headers["Content-Length"]) > 0  # the length a GET would have had
        assert await resp.read() == b""


async def test_chunked_request_body_is_forwarded(proxied: tuple[str, int]) -> None:
    _, port = proxied
    request = (b"POST /chunked HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
               b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
    status, _, body = await raw_http(port, request)
    assert status == 200
    seen = json.loads(body)
    assert seen["method"] == "POST" and seen["body"] == "hello world"


async def test_expect_100_continue_is_answered_before_the_body_is_read(proxied: tuple[str, int]) -> None:
    """curl sends `Expect: 100-continue` with larger uploads and waits for the interim
    response; a proxy that forwards the body must send it (RFC 9110 10.1.1)."""
    _, port = proxied
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(b"PUT /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n"
                     b"Connection: close\r\n\r\n")
        interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 2)
        assert interim.startswith(b"HTTP/1.1 100 ")
        writer.write(b"hello")
        head, _, body = (await asyncio.wait_for(reader.read(-1), 5)).partition(b"\r\n\r\n")
    finally:
        writer.close()
    assert head.startswith(b"HTTP/1.1 200 ")
    assert json.loads(body)["body"] == "hello"


async def test_chunked_response_of_unknown_length_is_streamed(echo_upstream: EchoUpstream, start_albauth: StartAlbauth,
                                                              client: aiohttp.ClientSession) -> None:
    async def trickle(_: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse()
        resp.enable_chunked_encoding()
        await resp.prepare(_)
        for i in range(50):
            await resp.write(f"line {i}\n".encode() * 1000)
        await resp.write_eof()
        return resp

    upstream = await echo_upstream([("GET", "/trickle", trickle)])
    base, _ = address(await start_albauth(proxy_settings({"app": [str(upstream.make_url(""))]})))
    async with client.get(base + "/trickle") as resp:
        assert resp.status == 200 and "Content-Length" not in resp.headers
        assert await resp.read() == b"".join(f"line {i}\n".encode() * 1000 for i in range(50))
