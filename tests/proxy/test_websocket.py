"""WebSocket upgrades relayed to the target."""

from __future__ import annotations

import re

import aiohttp
from aiohttp import WSMsgType, web
from foundation_helpers import TRACE_ROOT, address, headers_of, proxy_settings

from .helpers import EchoUpstream, StartAlbauth

# --- WebSockets ------------------------------------------------------------------------

async def test_websocket_text_binary_and_client_close_are_relayed(proxied: tuple[str, int],
                                                                  client: aiohttp.ClientSession) -> None:
    base, _ = proxied
    async with client.ws_connect(base + "/ws") as ws:
        await ws.send_str("hello \u2713")
        assert (await ws.receive(timeout=5)).data == "hello \u2713"
        await ws.send_bytes(bytes(range(256)) * 100)
        msg = await ws.receive(timeout=5)
        assert msg.type == WSMsgType.BINARY and msg.data == bytes(range(256)) * 100
        await ws.close(code=4001)
    assert ws.closed


async def test_websocket_close_from_the_target_reaches_the_client(proxied: tuple[str, int],
                                                                  client: aiohttp.ClientSession) -> None:
    base, _ = proxied
    async with client.ws_connect(base + "/ws") as ws:
        await ws.send_str("close:4000")
        msg = await ws.receive(timeout=5)
        assert msg.type == WSMsgType.CLOSE and msg.data == 4000


async def test_websocket_upgrade_carries_albs_forwarding_headers(echo_upstream: EchoUpstream,
                                                                 start_albauth: StartAlbauth,
                                                                 client: aiohttp.ClientSession) -> None:
    """The target answers the handshake itself and sees ALB's headers on the upgrade request."""

    async def tell_headers(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_json([[k, v] for k, v in request.headers.items()])
        await ws.close()
        return ws

    upstream = await echo_upstream([("GET", "/ws-headers", tell_headers)])
    base, port = address(await start_albauth(proxy_settings({"app": [str(upstream.make_url(""))]})))
    async with client.ws_connect(base + "/ws-headers", headers={"X-Forwarded-For": "198.51.100.1",
                                                                 "X-Amzn-Oidc-Identity": "forged"}) as ws:
        seen = {"headers": (await ws.receive(timeout=5)).json()}
    assert headers_of(seen, "X-Forwarded-For") == ["198.51.100.1, 127.0.0.1"]
    assert headers_of(seen, "X-Forwarded-Port") == [str(port)]
    assert re.fullmatch(TRACE_ROOT, headers_of(seen, "X-Amzn-Trace-Id")[0])
    assert not headers_of(seen, "X-Amzn-Oidc-Identity")
