"""Stopping: requests in flight finish, WebSockets end with 1001, SIGTERM stops `serve`."""

from __future__ import annotations

import asyncio
import re
import signal
import struct
import time

import aiohttp
import pytest
from aiohttp import WSMsgType, web
from aiohttp.test_utils import unused_port
from foundation_helpers import TRACE_ROOT, ServeProcess, address, headers_of, proxy_settings

from .helpers import EchoUpstream, StartAlbauth, get_echo
from .websocket_targets import SinkTarget, raw_upgrade

# --- Lifecycle -------------------------------------------------------------------------

async def test_request_in_flight_when_stop_begins_completes(echo_upstream: EchoUpstream, start_albauth: StartAlbauth,
                                                            client: aiohttp.ClientSession) -> None:
    arrived = asyncio.Event()

    async def slow(_: web.Request) -> web.Response:
        arrived.set()
        await asyncio.sleep(0.5)
        return web.Response(text="finished")

    upstream = await echo_upstream([("GET", "/slow", slow)])
    runtime = await start_albauth(proxy_settings({"app": [str(upstream.make_url(""))]}))
    base, _ = address(runtime)

    async def fetch() -> tuple[int, str]:
        async with client.get(base + "/slow") as resp:
            return resp.status, await resp.text()

    in_flight = asyncio.ensure_future(fetch())
    await asyncio.wait_for(arrived.wait(), 5)  # the request is at the target when stop begins
    await runtime.stop()
    assert await in_flight == (200, "finished")
    with pytest.raises(aiohttp.ClientConnectionError):
        await fetch()  # no longer listening


async def test_stop_ends_open_websockets_with_going_away(start_albauth: StartAlbauth, echo_upstream: EchoUpstream,
                                                         client: aiohttp.ClientSession) -> None:
    """A WebSocket never finishes by itself: stopping closes it with 1001 instead of waiting
    out the 30 s shutdown timeout."""
    upstream = await echo_upstream()
    runtime = await start_albauth(proxy_settings({"app": [str(upstream.make_url(""))]}))
    base, _ = address(runtime)
    async with client.ws_connect(base + "/ws") as ws:
        await ws.send_str("before")
        assert (await ws.receive(timeout=5)).data == "before"
        started = time.monotonic()
        stopping = asyncio.ensure_future(runtime.stop())
        msg = await ws.receive(timeout=5)
        assert msg.type == WSMsgType.CLOSE and msg.data == 1001
        await asyncio.wait_for(stopping, 5)
    assert time.monotonic() - started < 3


async def test_env_only_serve_forwards_with_alb_headers_and_stops_on_sigterm(echo_upstream: EchoUpstream) -> None:
    upstream = await echo_upstream()
    port = unused_port()
    proc = ServeProcess({"ALBAUTH_UPSTREAM": str(upstream.make_url("")), "ALBAUTH_LISTEN": f"127.0.0.1:{port}",
                         "ALBAUTH_ADMIN_LISTEN": "off"})
    try:
        await proc.wait_ready()
        async with aiohttp.ClientSession() as session:
            seen = await get_echo(session, f"http://127.0.0.1:{port}/env?x=1",
                                  headers={"X-Forwarded-For": "192.0.2.1", "X-Amzn-Oidc-Data": "forged"})
        assert seen["raw_path"] == "/env?x=1"
        assert headers_of(seen, "X-Forwarded-For") == ["192.0.2.1, 127.0.0.1"]
        assert headers_of(seen, "X-Forwarded-Proto") == ["http"]
        assert headers_of(seen, "X-Forwarded-Port") == [str(port)]
        assert re.fullmatch(TRACE_ROOT, headers_of(seen, "X-Amzn-Trace-Id")[0])
        assert not headers_of(seen, "X-Amzn-Oidc-Data")
        proc.proc.send_signal(signal.SIGTERM)
        assert await asyncio.get_running_loop().run_in_executor(None, proc.proc.wait, 10) == 0
    finally:
        proc.stop()


async def test_new_websocket_upgrades_are_503_once_stopping_began(start_albauth: StartAlbauth,
                                                                  echo_upstream: EchoUpstream,
                                                                  client: aiohttp.ClientSession) -> None:
    """Between the 1001s and the listener closing, an upgrade would start a WebSocket that
    the shutdown then cuts: ALB's 503 instead. Plain HTTP is still forwarded."""
    upstream = await echo_upstream()
    runtime = await start_albauth(proxy_settings({"app": [str(upstream.make_url(""))]}))
    base, _ = address(runtime)
    await runtime.forwarder.close_websockets()
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await client.ws_connect(base + "/ws")
    assert refused.value.status == 503
    assert (await get_echo(client, base + "/still"))["path"] == "/still"


async def test_going_away_is_never_written_inside_a_frame(start_albauth: StartAlbauth) -> None:
    """RFC 6455 5.4: a control frame may come between the fragments of a message, never
    inside a frame. Stopping while the target is half way through a frame cuts the
    connection without a Close frame rather than corrupt the stream."""
    half_frame = b"\x82\x7e" + struct.pack("!H", 1000) + b"x" * 500  # announces 1000 bytes, sends 500
    target = SinkTarget(after_101=half_frame)
    try:
        runtime = await start_albauth(proxy_settings({"app": [await target.start()]}))
        reader, writer, _ = await raw_upgrade(address(runtime)[1])
        assert await asyncio.wait_for(reader.readexactly(len(half_frame)), 5) == half_frame
        await runtime.forwarder.close_websockets()
        assert await asyncio.wait_for(reader.read(-1), 5) == b""  # the connection ends, nothing added
        writer.close()
    finally:
        target.server.close()
