"""`Forwarder.forward(..., path_qs=...)`: the request-target the target receives is the one
given (the listener passes the path its rules matched), for HTTP and WebSocket upgrades."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from foundation_helpers import raw_http
from multidict import CIMultiDict
from yarl import URL

from albauth.config.model import ProxySettings
from albauth.proxy import Forwarder

from .helpers import EchoUpstream

# A front server whose every request goes through a real Forwarder with this path_qs.
FrontFor = Callable[[str | None], Awaitable[TestServer]]


async def _tell_path_over_a_websocket(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    await ws.send_str(request.raw_path)
    await ws.close()
    return ws


@pytest.fixture
async def front_for(echo_upstream: EchoUpstream, aiohttp_server: Callable[..., Awaitable[TestServer]]
                    ) -> AsyncIterator[FrontFor]:
    upstream = await echo_upstream([("GET", "/ws-path/{tail:.*}", _tell_path_over_a_websocket)])
    target = URL(str(upstream.make_url("")))
    forwarders: list[Forwarder] = []

    async def start(path_qs: str | None) -> TestServer:
        forwarder = Forwarder(ProxySettings())
        forwarders.append(forwarder)

        async def handle(request: web.Request) -> web.StreamResponse:
            headers = CIMultiDict({k: v for k, v in request.headers.items() if k.lower() not in ("connection",
                                                                                                  "upgrade")})
            return await forwarder.forward(request, target, headers, path_qs=path_qs)

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", handle)
        server: TestServer = await aiohttp_server(app, host="127.0.0.1")
        return server

    yield start
    for forwarder in forwarders:
        await forwarder.close()


@pytest.mark.parametrize("path_qs", ["/admin", "/a/b?x=1&y=%20z", "/p%20q/r?", "/"])
async def test_the_target_receives_exactly_path_qs(front_for: FrontFor, path_qs: str) -> None:
    front = await front_for(path_qs)
    assert front.port is not None
    status, _, body = await raw_http(front.port, b"GET /public/../admin?orig=1 HTTP/1.1\r\nHost: a\r\n"
                                                 b"Connection: close\r\n\r\n")
    assert status == 200
    assert json.loads(body)["raw_path"] == path_qs


async def test_without_path_qs_the_target_receives_the_request_target_as_sent(front_for: FrontFor) -> None:
    front = await front_for(None)
    assert front.port is not None
    status, _, body = await raw_http(front.port, b"GET /a/./b%2Fc?q=%41 HTTP/1.1\r\nHost: a\r\n"
                                                 b"Connection: close\r\n\r\n")
    assert status == 200
    assert json.loads(body)["raw_path"] == "/a/./b%2Fc?q=%41"


async def test_a_websocket_upgrade_goes_to_path_qs(front_for: FrontFor) -> None:
    front = await front_for("/ws-path/normalized?room=1")
    async with aiohttp.ClientSession() as session, session.ws_connect(front.make_url("/ws/../x?room=2")) as ws:
        assert (await ws.receive(timeout=5)).data == "/ws-path/normalized?room=1"
