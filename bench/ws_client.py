"""The load of bench/websocket.py, one process: C WebSocket connections, each keeping W
small text messages in flight (a new one goes out for each echo that comes back), counting
the echoes between --start-at and --start-at + --duration (wall clock, so several client
processes measure the same window). Prints one JSON line.

    python bench/ws_client.py --url ws://127.0.0.1:9000/ws --connections 16 --window 16 \\
        --size 32 --duration 5 --start-at $(($(date +%s) + 2))

Two engines. `raw` (default) speaks RFC 6455 itself on an asyncio protocol: the upgrade
(Sec-WebSocket-Accept checked), masked text frames (a pool of random masking keys), every
echo checked byte for byte; the new messages for all the echoes of one read go out in one
write, so the client costs little per message and the proxies, not the client, are what is
measured. `aiohttp` uses aiohttp's client (`ws.send_str` per message, `ws.receive`), which
costs several times as much per message.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import os
import sys
import time
from urllib.parse import urlsplit

import aiohttp
import uvloop

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 1.3
POOL = 1024  # pre-masked frames, each with its own random masking key


class Window:
    """The measured window: echoes count only while it is open; this process's CPU time
    over it."""

    def __init__(self) -> None:
        self.open = False
        self.closed = False
        self.cpu_s = 0.0

    def start(self) -> None:
        self.open = True
        self.cpu_s = -sum(os.times()[:2])

    def stop(self) -> None:
        self.closed = True
        self.cpu_s += sum(os.times()[:2])


def masked_frame(opcode: int, payload: bytes) -> bytes:
    key = os.urandom(4)
    n = len(payload)
    head = bytes([0x80 | opcode]) + (bytes([0x80 | n]) if n < 126 else bytes([0xFE]) + n.to_bytes(2, "big")
                                     if n < 65536 else bytes([0xFF]) + n.to_bytes(8, "big"))
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


class RawConnection(asyncio.Protocol):
    def __init__(self, args: argparse.Namespace, win: Window, frames: list[bytes]) -> None:
        url = urlsplit(args.url)
        key = base64.b64encode(os.urandom(16))
        self.accept = base64.b64encode(hashlib.sha1(key + GUID).digest())  # noqa: S324 - RFC 6455's hash
        cookie = f"Cookie: {args.cookie}\r\n" if args.cookie else ""
        self.handshake = (f"GET {url.path or '/'} HTTP/1.1\r\nHost: {url.netloc}\r\nUpgrade: websocket\r\n"
                          f"Connection: Upgrade\r\nSec-WebSocket-Key: {key.decode()}\r\n"
                          f"Sec-WebSocket-Version: 13\r\n{cookie}\r\n").encode()
        self.payload = b"x" * args.size
        self.win, self.frames, self.next = win, frames, 0
        self.buf = bytearray()
        self.upgraded: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.counted, self.error, self.head = 0, "", b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]
        self.transport.write(self.handshake)

    def send(self, n: int) -> None:
        i, pool = self.next, self.frames
        out = pool[i:i + n] if i + n <= len(pool) else pool[i:] + pool[:i + n - len(pool)]
        self.next = (i + n) % len(pool)
        self.transport.write(b"".join(out))

    def data_received(self, data: bytes) -> None:
        if not self.upgraded.done():
            self.head += data
            end = self.head.find(b"\r\n\r\n")
            if end < 0:
                return
            head, data = self.head[:end], self.head[end + 4:]
            if not head.startswith(b"HTTP/1.1 101") or self.accept not in head:
                self.fail(f"no upgrade: {head[:200]!r}")
                return
            self.upgraded.set_result(None)
        self.buf += data
        echoes = self.parse()
        if echoes and not self.win.closed:
            self.send(echoes)

    def parse(self) -> int:
        """Complete frames off the buffer; the number of good echoes."""
        buf, i, echoes, size = self.buf, 0, 0, len(self.payload)
        while len(buf) - i >= 2:
            opcode, n, at = buf[i] & 0x0F, buf[i + 1] & 0x7F, i + 2
            if n == 126:
                n, at = int.from_bytes(buf[at:at + 2], "big"), at + 2
            elif n == 127:
                n, at = int.from_bytes(buf[at:at + 8], "big"), at + 8
            if len(buf) < at + n:
                break
            if opcode == 0x8:
                self.finish()
            elif opcode != 0x1 or n != size or buf[at:at + n] != self.payload:
                self.fail(f"unexpected frame: opcode {opcode}, {bytes(buf[at:at + min(n, 60)])!r}")
            else:
                echoes += 1
            i = at + n
        del buf[:i]
        if self.win.open:
            self.counted += echoes
        return echoes

    def fail(self, why: str) -> None:
        self.error = self.error or why
        self.finish()
        self.transport.close()

    def finish(self) -> None:
        if not self.done.done():
            self.done.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.upgraded.done():
            self.upgraded.set_exception(ConnectionError(f"closed before the upgrade: {exc!r}"))
        self.finish()


async def raw_connection(args: argparse.Namespace, win: Window, ready: asyncio.Event,
                         frames: list[bytes]) -> tuple[int, str]:
    url = urlsplit(args.url)
    loop = asyncio.get_running_loop()
    _, conn = await loop.create_connection(lambda: RawConnection(args, win, frames), url.hostname, url.port)
    await conn.upgraded
    await ready.wait()
    conn.send(args.window)
    while not win.closed and not conn.done.done():
        await asyncio.wait([conn.done], timeout=0.2)
    if not conn.done.done():
        conn.transport.write(masked_frame(0x8, (1000).to_bytes(2, "big")))  # Close, 1000 normal
        await asyncio.wait([conn.done], timeout=2)  # the proxy passes the server's Close back
    conn.transport.close()
    return conn.counted, conn.error


async def aiohttp_connection(session: aiohttp.ClientSession, args: argparse.Namespace, win: Window,
                             ready: asyncio.Event) -> tuple[int, str]:
    payload = "x" * args.size
    headers = {"Cookie": args.cookie} if args.cookie else {}
    async with session.ws_connect(args.url, headers=headers, autoping=False, compress=0, max_msg_size=0) as ws:
        await ready.wait()
        for _ in range(args.window):
            await ws.send_str(payload)
        counted = 0
        while not win.closed:
            msg = await ws.receive()
            if msg.type != aiohttp.WSMsgType.TEXT or msg.data != payload:
                return counted, f"unexpected {msg.type.name}: {str(msg.data)[:80]}"
            if win.open:
                counted += 1
            await ws.send_str(payload)
        return counted, ""


async def run(args: argparse.Namespace) -> dict[str, object]:
    loop = asyncio.get_running_loop()
    win, ready = Window(), asyncio.Event()
    frames = [masked_frame(0x1, b"x" * args.size) for _ in range(POOL)]
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        tasks = [asyncio.ensure_future(raw_connection(args, win, ready, frames) if args.engine == "raw"
                                       else aiohttp_connection(session, args, win, ready))
                 for _ in range(args.connections)]
        late = time.time() > args.start_at
        start = loop.time() + max(0.0, args.start_at - time.time())
        loop.call_at(start, ready.set)
        # The window opens a little after the first messages, so every connection is busy.
        loop.call_at(start + args.settle, win.start)
        loop.call_at(start + args.settle + args.duration, win.stop)
        done = await asyncio.gather(*tasks, return_exceptions=True)
    errors = [repr(d) for d in done if isinstance(d, BaseException)] + [d[1] for d in done
                                                                          if isinstance(d, tuple) and d[1]]
    return {"messages": sum(d[0] for d in done if isinstance(d, tuple)), "seconds": args.duration,
            "connections": args.connections, "engine": args.engine, "errors": errors[:5],
            "error_count": len(errors), "late": late, "cpu_s": win.cpu_s}


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", required=True)
    p.add_argument("--cookie", default="")
    p.add_argument("--engine", choices=("raw", "aiohttp"), default="raw")
    p.add_argument("--connections", type=int, default=16)
    p.add_argument("--window", type=int, default=16)
    p.add_argument("--size", type=int, default=32)
    p.add_argument("--duration", type=float, default=5)
    p.add_argument("--settle", type=float, default=0.2, help="seconds after the start before counting")
    p.add_argument("--start-at", type=float, required=True, help="wall-clock time (epoch seconds) to start")
    args = p.parse_args(argv)
    uvloop.install()
    print(json.dumps(asyncio.run(run(args))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
