"""The WebSocket upstream of bench/websocket.py, one process on uvloop: echoes every message
on /ws and answers any other `GET` with 200 "ok\\n" (where a login through albauth lands).

    python bench/ws_echo.py --listen 127.0.0.1:9000 [--engine raw|aiohttp]

`aiohttp` is aiohttp's server (`WebSocketResponse`, one `send_str` per message). `raw`
(the default) speaks RFC 6455 itself on an asyncio protocol: the upgrade with its
Sec-WebSocket-Accept, each client frame unmasked and sent back unmasked with its own
FIN/opcode bits (Ping answered with Pong, Close with Close), and every echo of one read
in one write. It costs a fraction of aiohttp's server per message, so that the proxies,
not the upstream, are what bench/websocket.py measures; plain HTTP requests get their
answer and `Connection: close`.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib

import uvloop
from aiohttp import WSMsgType, web
from common import UPSTREAM_BODY

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 1.3
OK = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s"
      % (len(UPSTREAM_BODY), UPSTREAM_BODY.encode()))


def _header(b0: int, n: int) -> bytes:
    if n < 126:
        return bytes((b0, n))
    if n < 65536:
        return bytes((b0, 126)) + n.to_bytes(2, "big")
    return bytes((b0, 127)) + n.to_bytes(8, "big")


def unmask(key: bytes, payload: bytes) -> bytes:
    n = len(payload)
    mask = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(mask, "big")).to_bytes(n, "big")


class RawEcho(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]
        self.head = b""
        self.buf = bytearray()
        self.upgraded = False

    def data_received(self, data: bytes) -> None:
        if not self.upgraded:
            self.head += data
            end = self.head.find(b"\r\n\r\n")
            if end < 0:
                return
            data = self.head[end + 4:]
            if not self.upgrade(self.head[:end].decode("latin-1")):
                return
        self.buf += data
        out = self.echo()
        if out:
            self.transport.write(out)

    def upgrade(self, head: str) -> bool:
        lines = head.split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        if headers.get("upgrade", "").lower() != "websocket" or not lines[0].split(" ")[1].startswith("/ws"):
            self.transport.write(OK)
            self.transport.close()
            return False
        accept = base64.b64encode(hashlib.sha1(headers["sec-websocket-key"].encode() + GUID).digest())  # noqa: S324
        self.transport.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                             b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n")
        self.upgraded = True
        return True

    def echo(self) -> bytes:
        """Every complete frame off the buffer, answered."""
        buf, i = self.buf, 0
        out: list[bytes] = []
        while len(buf) - i >= 2:
            b0, n, at = buf[i], buf[i + 1] & 0x7F, i + 2
            if n == 126:
                n, at = int.from_bytes(buf[at:at + 2], "big"), at + 2
            elif n == 127:
                n, at = int.from_bytes(buf[at:at + 8], "big"), at + 8
            if len(buf) < at + 4 + n:
                break
            payload = unmask(bytes(buf[at:at + 4]), bytes(buf[at + 4:at + 4 + n]))
            i = at + 4 + n
            opcode = b0 & 0x0F
            if opcode == 0x9:  # Ping: Pong
                out += (_header(0x8A, n), payload)
            elif opcode == 0x8:  # Close: Close, then the connection ends
                out += (_header(0x88, n), payload)
                self.transport.write(b"".join(out))
                self.transport.close()
                return b""
            elif opcode != 0xA:
                out += (_header(b0, n), payload)
        del buf[:i]
        return b"".join(out)


async def serve_raw(host: str, port: int) -> None:
    server = await asyncio.get_running_loop().create_server(RawEcho, host, port, backlog=4096)
    async with server:
        await server.serve_forever()


async def echo(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse(compress=False)
    await ws.prepare(request)
    async for msg in ws:
        if msg.type == WSMsgType.TEXT:
            await ws.send_str(msg.data)
        elif msg.type == WSMsgType.BINARY:
            await ws.send_bytes(msg.data)
    return ws


async def ok(request: web.Request) -> web.Response:
    return web.Response(text=UPSTREAM_BODY)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--listen", required=True, help="host:port")
    p.add_argument("--engine", choices=("raw", "aiohttp"), default="raw")
    args = p.parse_args()
    host, port = args.listen.rsplit(":", 1)
    uvloop.install()
    if args.engine == "raw":
        asyncio.run(serve_raw(host, int(port)))
        return
    app = web.Application()
    app.router.add_get("/ws", echo)
    app.router.add_get("/", ok)
    web.run_app(app, host=host, port=int(port), print=None, access_log=None)


if __name__ == "__main__":
    main()
