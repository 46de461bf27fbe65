"""The WebSocket upstream of bench/websocket.py: an aiohttp server (one process, uvloop)
that echoes every text or binary message on /ws, and answers `GET /` with "ok\\n" (where
a login through albauth lands).

    python bench/ws_echo.py --listen 127.0.0.1:9000
"""

from __future__ import annotations

import argparse
import asyncio

import uvloop
from aiohttp import WSMsgType, web
from common import UPSTREAM_BODY


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
    args = p.parse_args()
    host, port = args.listen.rsplit(":", 1)
    app = web.Application()
    app.router.add_get("/ws", echo)
    app.router.add_get("/", ok)
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    web.run_app(app, host=host, port=int(port), print=None, access_log=None)


if __name__ == "__main__":
    main()
