"""Issue 9 item 6: ALB relays a target's `Server` field or none; albauth used to add
aiohttp's own (`Python/3.x aiohttp/3.x`) when the target sent none."""

from __future__ import annotations

import asyncio

import pytest
from foundation_helpers import address, proxy_settings, raw_http

from .helpers import StartAlbauth
from .websocket_targets import SinkTarget, raw_upgrade

# (request, response without a Server field): a small body read whole, a chunked body
# streamed, a HEAD, an HTTP/1.0 body that ends with the connection.
ANSWERS = {
    "small": (b"GET /", b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
    "chunked": (b"GET /", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"),
    "head": (b"HEAD /", b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n"),
    "until-close": (b"GET /", b"HTTP/1.0 200 OK\r\n\r\nok"),
}


async def serve_once(answer: bytes) -> tuple[asyncio.Server, str]:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(answer)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"


@pytest.mark.parametrize("case", list(ANSWERS))
async def test_no_server_field_is_added_to_a_targets_response(start_albauth: StartAlbauth, case: str) -> None:
    request_line, answer = ANSWERS[case]
    server, url = await serve_once(answer)
    try:
        _, port = address(await start_albauth(proxy_settings({"app": [url]})))
        status, headers, _ = await raw_http(port, request_line + b" HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
    finally:
        server.close()
    assert status == 200
    assert "server" not in headers, headers


async def test_no_server_field_is_added_to_a_targets_101(start_albauth: StartAlbauth) -> None:
    target = SinkTarget()
    try:
        _, port = address(await start_albauth(proxy_settings({"app": [await target.start()]})))
        _, writer, head = await raw_upgrade(port)
        writer.close()
    finally:
        target.server.close()
    assert b"\r\nserver:" not in head.lower(), head


async def test_a_targets_own_server_field_passes_unchanged(start_albauth: StartAlbauth) -> None:
    server, url = await serve_once(b"HTTP/1.1 200 OK\r\nServer: my-app/2.1 (custom)\r\nContent-Length: 2\r\n\r\nok")
    try:
        _, port = address(await start_albauth(proxy_settings({"app": [url]})))
        _, headers, _ = await raw_http(port, b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
    finally:
        server.close()
    assert headers["server"] == "my-app/2.1 (custom)"
