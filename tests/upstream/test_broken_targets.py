"""Targets that break: closing or resetting mid-response, malformed responses, heads over
ALB's 32 KB."""

from __future__ import annotations

import asyncio
import socket
import struct

import aiohttp
import pytest
from foundation_helpers import raw_http

from .raw_target import StartAlbauth, StartRawTarget, albauth_for, read_request

# --- Broken targets -----------------------------------------------------------------------

async def test_target_closing_mid_response_is_502_when_the_body_was_small(raw_target: StartRawTarget,
                                                                          start_albauth: StartAlbauth,
                                                                          client: aiohttp.ClientSession) -> None:
    async def half(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b"x" * 10)
        await writer.drain()

    target = await raw_target(half)
    base, _ = await albauth_for(start_albauth, target)
    async with client.get(base + "/") as resp:
        assert resp.status == 502 and resp.headers["Server"] == "awselb/2.0"


async def test_target_closing_mid_stream_cuts_the_client_connection(raw_target: StartRawTarget,
                                                                    start_albauth: StartAlbauth,
                                                                    client: aiohttp.ClientSession) -> None:
    async def half(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10000000\r\n\r\n" + b"x" * 1_000_000)
        await writer.drain()

    target = await raw_target(half)
    base, _ = await albauth_for(start_albauth, target)
    async with client.get(base + "/") as resp:
        assert resp.status == 200
        with pytest.raises(aiohttp.ClientPayloadError):
            await asyncio.wait_for(resp.read(), 10)


async def test_reset_by_the_target_is_502(raw_target: StartRawTarget, start_albauth: StartAlbauth,
                                          client: aiohttp.ClientSession) -> None:
    async def reset(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close = RST

    target = await raw_target(reset)
    base, _ = await albauth_for(start_albauth, target)
    async with client.get(base + "/") as resp:
        assert resp.status == 502


@pytest.mark.parametrize("response", [
    b"HTTP/1.1 2xx Fine\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok",
    b"HTTP/1.1 200 OK\r\nBad Header\r\n\r\n",
    b"SSH-2.0-OpenSSH_9.6\r\n",
    b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n",
])
async def test_malformed_response_is_502(raw_target: StartRawTarget, start_albauth: StartAlbauth,
                                         client: aiohttp.ClientSession, response: bytes) -> None:
    async def malformed(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(response)
        await reader.read()

    target = await raw_target(malformed)
    base, _ = await albauth_for(start_albauth, target)
    async with client.get(base + "/") as resp:
        assert resp.status == 502


@pytest.mark.parametrize(("header_bytes", "status"), [(30 * 1024, 200), (33 * 1024, 502)])
async def test_response_head_over_32k_is_502(raw_target: StartRawTarget, start_albauth: StartAlbauth, header_bytes: int,
                                             status: int) -> None:
    """Spec 6.1; sent in 1 KB pieces so the limit holds across reads too."""
    big = b"HTTP/1.1 200 OK\r\n" + b"".join(b"X-H%d: %b\r\n" % (i, b"v" * 1000) for i in range(header_bytes // 1010))
    big += b"Content-Length: 2\r\n\r\nok"

    async def huge_head(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        for i in range(0, len(big), 1024):
            writer.write(big[i:i + 1024])
            await writer.drain()
            await asyncio.sleep(0)
        await reader.read()

    target = await raw_target(huge_head)
    _, port = await albauth_for(start_albauth, target)
    got, _, _ = await raw_http(port, b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
    assert got == status
