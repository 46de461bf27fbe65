"""Request and response bodies both ways, chunked uploads, back-pressure from a slow client."""

from __future__ import annotations

import asyncio
import re
import socket

from foundation_helpers import address, proxy_settings, raw_http

from .raw_target import StartAlbauth, StartRawTarget, albauth_for, answer, read_request

# --- Bodies both ways ---------------------------------------------------------------------

async def test_chunked_upload_reaches_the_target_chunked(raw_target: StartRawTarget,
                                                         start_albauth: StartAlbauth) -> None:
    seen: list[bytes] = []

    async def record(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await read_request(reader)
        assert request is not None
        seen.extend(request)
        writer.write(answer())
        await reader.read()

    target = await raw_target(record)
    _, port = await albauth_for(start_albauth, target)
    status, _, _ = await raw_http(port, b"POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
                                        b"Connection: close\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
    assert status == 200
    head, body = seen
    assert re.search(rb"(?i)\r\ntransfer-encoding: chunked\r\n", head)
    assert not re.search(rb"(?i)\r\ncontent-length:", head)
    assert re.sub(rb"[0-9a-f]+\r\n(.*?)\r\n", rb"\1", body.removesuffix(b"0\r\n\r\n"), flags=re.S) == b"hello world"


async def test_slow_client_holds_back_a_fast_target(raw_target: StartRawTarget, start_albauth: StartAlbauth) -> None:
    """Back-pressure: while the client reads nothing, albauth stops reading from the target,
    which stops being able to write; albauth's own buffer stays small."""
    total = 256 * 1024 * 1024
    block = b"\xa5" * (256 * 1024)
    sent = 0

    async def fast(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal sent
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % total)
        for _ in range(total // len(block)):
            writer.write(block)
            await writer.drain()
            sent += len(block)

    target = await raw_target(fast)
    runtime = await start_albauth(proxy_settings({"app": [target.url]}))
    _, port = address(runtime)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
    reader, writer = await asyncio.open_connection(sock=sock)
    try:
        writer.write(b"GET /big HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        await asyncio.sleep(1.5)  # the client reads nothing meanwhile
        stalled_at = sent
        assert stalled_at < 64 * 1024 * 1024, f"the target got {stalled_at >> 20} MiB out to a stalled client"
        await asyncio.sleep(0.5)
        assert sent == stalled_at  # stalled, not merely slow
        received = len(await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5))
        head_len = received
        while chunk := await asyncio.wait_for(reader.read(1 << 20), 10):
            received += len(chunk)
        assert received - head_len == total
    finally:
        writer.close()
