"""Targets written against raw sockets, so each test can misbehave exactly as a real
target might (close an idle connection, stop half way, send 1xx, a huge head...), and can
count the connections it was given."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable

from foundation_helpers import address, proxy_settings

from albauth.app import Runtime
from albauth.config.model import Settings

StartAlbauth = Callable[[Settings], Awaitable[Runtime]]
StartRawTarget = Callable[["Handler"], Awaitable["RawTarget"]]
Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class RawTarget:
    """A target on 127.0.0.1 that runs `handle(reader, writer)` for every connection."""

    def __init__(self, handle: Handler) -> None:
        self.handle = handle
        self.connections = 0
        self.closed_by_peer = asyncio.Event()  # albauth closed one of our connections
        self._writers: list[asyncio.StreamWriter] = []

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.append(writer)
        try:
            await self.handle(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    def close(self) -> None:
        self.server.close()
        for writer in self._writers:
            writer.close()

async def albauth_for(start_albauth: StartAlbauth, target: RawTarget, proxy: str = "") -> tuple[str, int]:
    return address(await start_albauth(proxy_settings({"app": [target.url]}, proxy=proxy)))


async def read_request(reader: asyncio.StreamReader) -> tuple[bytes, bytes] | None:
    """One request (head, body) as the target received it; None when the connection ended."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    length = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
    if length:
        return head, await reader.readexactly(int(length.group(1)))
    if re.search(rb"(?i)\r\ntransfer-encoding: *chunked", head):
        return head, await reader.readuntil(b"\r\n0\r\n\r\n")  # raw chunked framing, good enough here
    return head, b""


def answer(body: bytes = b"ok", extra: bytes = b"", status: bytes = b"200 OK") -> bytes:
    return b"HTTP/1.1 %b\r\nContent-Length: %d\r\n%b\r\n%b" % (status, len(body), extra, body)


async def serve_ok(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while await read_request(reader) is not None:
        writer.write(answer())
        await writer.drain()

