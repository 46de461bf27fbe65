"""Generic fixtures shared by the whole suite: a real upstream and a real albauth.

Tests talk real HTTP over loopback. `echo_upstream()` starts an aiohttp app that answers
every request with what it received as JSON (and echoes WebSocket frames);
`start_albauth(settings)` starts a `Runtime` and stops it when the test ends.
"""

from __future__ import annotations

import dataclasses
import errno
import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any

import pytest
from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestServer, unused_port

from albauth.app import Runtime
from albauth.config.model import Settings

Route = tuple[str, str, Callable[[web.Request], Awaitable[web.StreamResponse]]]


async def echo(request: web.Request) -> web.StreamResponse:
    """What the target saw: method, raw path, query, headers in wire order, body."""
    if request.headers.get("Upgrade", "").lower() == "websocket":
        return await ws_echo(request)
    body = await request.read()
    return web.json_response({
        "method": request.method,
        "path": request.raw_path.partition("?")[0],
        "raw_path": request.raw_path,
        "query": request.query_string,
        "headers": [[k.decode("latin-1"), v.decode("latin-1")] for k, v in request.raw_headers],
        "body": body.decode("utf-8", "replace"),
        "body_sha256": hashlib.sha256(body).hexdigest(),
        "peer": request.remote,
    })


async def ws_echo(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    async for msg in ws:
        if msg.type == WSMsgType.TEXT and msg.data.startswith("close:"):
            await ws.close(code=int(msg.data[6:]))  # "close:4000": the target ends the session
        elif msg.type == WSMsgType.TEXT:
            await ws.send_str(msg.data)
        elif msg.type == WSMsgType.BINARY:
            await ws.send_bytes(msg.data)
    return ws


def echo_app(routes: Iterable[Route] = ()) -> web.Application:
    app = web.Application(client_max_size=1024**3)
    for method, path, handler in routes:  # specific routes win over the catch-all echo
        app.router.add_route(method, path, handler)
    app.router.add_route("*", "/{tail:.*}", echo)
    return app


@pytest.fixture
def echo_upstream(aiohttp_server: Any) -> Callable[..., Awaitable[TestServer]]:
    """`await echo_upstream(routes=[("GET", "/slow", handler)])` -> a started TestServer;
    keyword arguments go to aiohttp's server (e.g. `auto_decompress=False`)."""

    async def start(routes: Iterable[Route] = (), **server_kwargs: Any) -> TestServer:
        server: TestServer = await aiohttp_server(echo_app(routes), host="127.0.0.1", **server_kwargs)
        return server

    return start


@pytest.fixture
async def start_albauth() -> AsyncIterator[Callable[[Settings], Awaitable[Runtime]]]:
    """`runtime = await start_albauth(settings)`; every runtime started is stopped afterwards.

    Ports come from `unused_port()`, which another process can take before we bind it: on
    EADDRINUSE the listeners move to fresh ports, so read the address from the runtime
    (`runtime.urls`, `runtime.settings.listeners[i].port`), not from the settings passed in."""
    started: list[Runtime] = []

    async def start(settings: Settings) -> Runtime:
        for attempt in range(3):
            runtime = Runtime(settings)
            started.append(runtime)
            try:
                await runtime.start()
                return runtime
            except OSError as exc:
                await runtime.stop()
                if exc.errno != errno.EADDRINUSE or attempt == 2:
                    raise
                settings = _on_fresh_ports(settings)
        raise AssertionError("unreachable")

    yield start
    for runtime in reversed(started):
        await runtime.stop()  # idempotent: a test may have stopped it already


def _on_fresh_ports(settings: Settings) -> Settings:
    listeners = tuple(dataclasses.replace(lst, port=unused_port()) if lst.port else lst
                      for lst in settings.listeners)
    admin = settings.admin_listen and (settings.admin_listen[0], unused_port())
    return dataclasses.replace(settings, listeners=listeners, admin_listen=admin or None)
