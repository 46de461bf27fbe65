"""Issue 9 item 4: a WebSocket is spliced after the 101, not reassembled into messages, so
what it costs albauth is bounded whatever a frame announces; and it ends after the
listener's idle timeout, as ALB's do."""

from __future__ import annotations

import asyncio
import hashlib
import os
import struct
import time

import aiohttp
from aiohttp import WSMsgType, web
from aiohttp.test_utils import unused_port
from foundation_helpers import ServeProcess, address, proxy_settings

from .helpers import EchoUpstream, StartAlbauth
from .websocket_targets import SinkTarget, raw_upgrade


async def test_a_frame_announcing_a_gibibyte_does_not_grow_albauths_memory() -> None:
    """Before: the message was reassembled whole (max_msg_size=0), 1:1 with what was sent.
    Now 64 MiB of a frame announcing 1 GiB pass through a real `albauth serve` process and
    its peak RSS moves by a few MiB at most."""
    target = SinkTarget()
    port = unused_port()
    proc = ServeProcess({"ALBAUTH_UPSTREAM": await target.start(), "ALBAUTH_LISTEN": f"127.0.0.1:{port}",
                         "ALBAUTH_ADMIN_LISTEN": "off", "ALBAUTH_LOG_LEVEL": "WARNING"})
    try:
        await proc.wait_ready()
        _, warm, _ = await raw_upgrade(port)  # every code path once, so the baseline holds the code
        warm.write(b"\x82\x85" + os.urandom(4) + b"hello")
        await warm.drain()
        warm.close()
        await asyncio.sleep(0.2)
        baseline = proc.peak_rss_kib()

        _, writer, _ = await raw_upgrade(port)
        writer.write(b"\x82\xff" + struct.pack("!Q", 1 << 30) + os.urandom(4))  # binary, masked, 1 GiB
        block, sent = os.urandom(256 * 1024), 0
        for _ in range(256):  # 64 MiB, at the pace albauth takes it
            writer.write(block)
            await writer.drain()
            sent += len(block)
        deadline = time.monotonic() + 10
        while target.received < sent and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        growth_mib = (proc.peak_rss_kib() - baseline) / 1024
        writer.close()
        assert growth_mib < 12, f"albauth's peak RSS grew by {growth_mib:.1f} MiB relaying 64 MiB of one frame"
        assert target.received >= sent  # streamed on, not held back until the message ends
    finally:
        proc.stop()
        target.server.close()


async def _big_echo(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse(max_msg_size=0)
    await ws.prepare(request)
    async for msg in ws:
        if msg.type == WSMsgType.BINARY:
            await ws.send_bytes(msg.data)
    return ws


async def test_an_8_mib_message_arrives_intact_both_ways(echo_upstream: EchoUpstream,
                                                         start_albauth: StartAlbauth) -> None:
    upstream = await echo_upstream([("GET", "/big", _big_echo)])
    base, _ = address(await start_albauth(proxy_settings({"app": [str(upstream.make_url(""))]})))
    payload = os.urandom(8 * 1024 * 1024)
    async with aiohttp.ClientSession() as session, session.ws_connect(base + "/big", max_msg_size=0) as ws:
        await ws.send_bytes(payload)
        msg = await ws.receive(timeout=20)
    assert msg.type == WSMsgType.BINARY
    assert hashlib.sha256(msg.data).digest() == hashlib.sha256(payload).digest()


async def test_an_idle_websocket_is_closed_after_the_idle_timeout(echo_upstream: EchoUpstream,
                                                                  start_albauth: StartAlbauth) -> None:
    """ALB closes a connection with no data either way for its idle timeout (60 s by
    default); WebSockets included. Before, they stayed open forever."""
    upstream = await echo_upstream()
    settings = proxy_settings({"app": [str(upstream.make_url(""))]}, proxy="idle_timeout: 0.5")
    base, _ = address(await start_albauth(settings))
    async with aiohttp.ClientSession() as session, session.ws_connect(base + "/ws", autoping=False) as ws:
        for i in range(6):  # traffic keeps it open past the timeout
            await asyncio.sleep(0.2)
            await ws.send_str(f"ping {i}")
            assert (await ws.receive(timeout=5)).data == f"ping {i}"
        idle_since = time.monotonic()
        msg = await ws.receive(timeout=5)
        waited = time.monotonic() - idle_since
    assert msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING, WSMsgType.ERROR), msg
    assert 0.4 < waited < 2.5


async def test_subprotocol_chosen_by_the_target_reaches_the_client(echo_upstream: EchoUpstream,
                                                                   start_albauth: StartAlbauth) -> None:
    async def chooses(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(protocols=("v2.chat",))
        await ws.prepare(request)
        await ws.send_str(request.headers.get("Sec-WebSocket-Protocol", ""))
        await ws.close()
        return ws

    upstream = await echo_upstream([("GET", "/proto", chooses)])
    base, _ = address(await start_albauth(proxy_settings({"app": [str(upstream.make_url(""))]})))
    async with aiohttp.ClientSession() as session, session.ws_connect(
            base + "/proto", protocols=("v1.chat", "v2.chat")) as ws:
        offered = (await ws.receive(timeout=5)).data
        assert ws.protocol == "v2.chat"
    assert offered == "v1.chat,v2.chat"
