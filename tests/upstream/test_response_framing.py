"""How a target's response ends: chunked, HTTP/1.0 until close, 1xx before the final
response, HEAD."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from foundation_helpers import raw_http

from .raw_target import StartAlbauth, StartRawTarget, albauth_for, answer, read_request

# --- Response framing -------------------------------------------------------------------

async def test_chunked_response_is_relayed_without_trailers(raw_target: StartRawTarget, start_albauth: StartAlbauth,
                                                            client: aiohttp.ClientSession) -> None:
    async def chunked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n5\r\nhello\r\n")
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.write(b"6\r\n world\r\n0\r\nX-Sum: 11\r\n\r\n")
        await reader.read()

    target = await raw_target(chunked)
    base, _ = await albauth_for(start_albauth, target)
    async with client.get(base + "/") as resp:
        assert resp.status == 200 and "Content-Length" not in resp.headers
        assert await resp.read() == b"hello world"
        assert "X-Sum" not in resp.headers


@pytest.mark.parametrize("size", [5, 300 * 1024])
async def test_http10_target_without_length_ends_the_body_with_the_connection(raw_target: StartRawTarget,
                                                                              start_albauth: StartAlbauth,
                                                                              client: aiohttp.ClientSession,
                                                                              size: int) -> None:
    body = bytes(range(256)) * (size // 256) + b"x" * (size % 256)

    async def http10(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n" + body)
        await writer.drain()

    target = await raw_target(http10)
    base, _ = await albauth_for(start_albauth, target)
    for _ in range(2):
        async with client.get(base + "/") as resp:
            assert resp.status == 200 and await resp.read() == body
    assert target.connections == 2


async def test_informational_responses_are_dropped_before_the_final_one(raw_target: StartRawTarget,
                                                                        start_albauth: StartAlbauth) -> None:
    async def interim(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        await writer.drain()
        writer.write(b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n")
        await writer.drain()
        writer.write(answer(b"final", extra=b"X-Final: yes\r\n"))
        await reader.read()

    target = await raw_target(interim)
    _, port = await albauth_for(start_albauth, target)
    status, headers, body = await raw_http(port, b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
    assert (status, body) == (200, b"final")
    assert headers["x-final"] == "yes" and "link" not in headers


async def test_head_response_keeps_its_content_length_and_the_connection(raw_target: StartRawTarget,
                                                                         start_albauth: StartAlbauth) -> None:
    async def head_then_get(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while (request := await read_request(reader)) is not None:
            if request[0].startswith(b"HEAD "):
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n")  # and no body
            else:
                writer.write(answer())

    target = await raw_target(head_then_get)
    _, port = await albauth_for(start_albauth, target)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(b"HEAD /h HTTP/1.1\r\nHost: a\r\n\r\n")
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert head.startswith(b"HTTP/1.1 200 ") and b"\r\nContent-Length: 1234\r\n" in head
        writer.write(b"GET /g HTTP/1.1\r\nHost: a\r\n\r\n")  # a body after HEAD would show up here
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert head.startswith(b"HTTP/1.1 200 ") and await reader.readexactly(2) == b"ok"
    finally:
        writer.close()
    assert target.connections == 1
