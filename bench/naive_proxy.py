"""The strawman: an aiohttp reverse proxy written the obvious way.

High-level `web.Application` with a catch-all route, and a new `ClientSession` (so a new
connector, a new TCP connection to the target and no keep-alive) for every request. The
body is read whole both ways. This is what the albauth design is measured against.

    python bench/naive_proxy.py --listen 127.0.0.1:8000 --upstream http://127.0.0.1:9000 [--uvloop]
"""

from __future__ import annotations

import argparse
import asyncio

import aiohttp
from aiohttp import web

HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
              "trailer", "transfer-encoding", "upgrade", "host", "content-length"}


def build_app(upstream: str) -> web.Application:
    async def proxy(request: web.Request) -> web.Response:
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        body = await request.read()
        async with aiohttp.ClientSession(auto_decompress=False) as session:
            async with session.request(request.method, upstream + request.path_qs, headers=headers,
                                       data=body or None, allow_redirects=False) as resp:
                payload = await resp.read()
                out = {k: v for k, v in resp.headers.items() if k.lower() not in HOP_BY_HOP}
                return web.Response(status=resp.status, body=payload, headers=out)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", proxy)
    return app


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--listen", required=True, help="host:port")
    p.add_argument("--upstream", required=True, help="http://host:port")
    p.add_argument("--uvloop", action="store_true", help="run on uvloop (as albauth does)")
    args = p.parse_args()
    host, port = args.listen.rsplit(":", 1)
    if args.uvloop:
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    # Defaults otherwise, as a first version would have them (access log object present;
    # nothing configures logging, so it writes nothing).
    web.run_app(build_app(args.upstream.rstrip("/")), host=host, port=int(port), print=None)


if __name__ == "__main__":
    main()
