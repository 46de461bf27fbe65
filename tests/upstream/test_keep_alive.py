"""Keep-alive connections to targets and their pool: reuse, `Connection: close`, stale
connections, idle timeout, the per-origin cap."""

from __future__ import annotations

import asyncio

import aiohttp
from foundation_helpers import address, proxy_settings

from .raw_target import StartAlbauth, StartRawTarget, albauth_for, answer, read_request, serve_ok

# --- Keep-alive and the pool ------------------------------------------------------------

async def test_sequential_requests_share_one_keep_alive_connection(raw_target: StartRawTarget,
                                                                   start_albauth: StartAlbauth,
                                                                   client: aiohttp.ClientSession) -> None:
    target = await raw_target(serve_ok)
    base, _ = await albauth_for(start_albauth, target)
    for _ in range(20):
        async with client.get(base + "/") as resp:
            assert resp.status == 200 and await resp.read() == b"ok"
    assert target.connections == 1


async def test_connection_close_from_the_target_is_honoured(raw_target: StartRawTarget, start_albauth: StartAlbauth,
                                                            client: aiohttp.ClientSession) -> None:
    """`Connection: close` (the target then keeps the socket open anyway): never reused."""

    async def close_each(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(answer(extra=b"Connection: close\r\n"))
        await reader.read()  # until albauth closes

    target = await raw_target(close_each)
    base, _ = await albauth_for(start_albauth, target)
    for _ in range(3):
        async with client.get(base + "/") as resp:
            assert resp.status == 200 and await resp.read() == b"ok"
    assert target.connections == 3


async def test_idle_connection_closed_by_the_target_is_not_used(raw_target: StartRawTarget, start_albauth: StartAlbauth,
                                                                client: aiohttp.ClientSession) -> None:
    async def one_then_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(answer())
        await writer.drain()  # then close while albauth holds the connection idle

    target = await raw_target(one_then_close)
    base, _ = await albauth_for(start_albauth, target)
    for _ in range(3):
        async with client.get(base + "/") as resp:
            assert resp.status == 200 and await resp.read() == b"ok"
        await asyncio.sleep(0.05)
    assert target.connections == 3


async def close_on_second_request(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Answers one request, then drops the connection when the next one arrives: the race
    of a target closing an idle keep-alive connection just as the proxy reuses it."""
    await read_request(reader)
    writer.write(answer())
    await writer.drain()
    await read_request(reader)


async def test_get_on_a_connection_the_target_just_closed_is_retried_once(raw_target: StartRawTarget,
                                                                          start_albauth: StartAlbauth,
                                                                          client: aiohttp.ClientSession) -> None:
    target = await raw_target(close_on_second_request)
    base, _ = await albauth_for(start_albauth, target)
    for _ in range(3):
        async with client.get(base + "/") as resp:
            assert resp.status == 200 and await resp.read() == b"ok"
    assert target.connections == 3  # 1, then (reused: dropped) 2, then (reused: dropped) 3


async def test_request_whose_body_was_sent_is_not_retried(raw_target: StartRawTarget, start_albauth: StartAlbauth,
                                                          client: aiohttp.ClientSession) -> None:
    """A POST may have been acted on: sending it twice is not ours to decide (502 instead)."""
    target = await raw_target(close_on_second_request)
    base, _ = await albauth_for(start_albauth, target)
    async with client.get(base + "/") as resp:
        assert resp.status == 200
    async with client.post(base + "/", data=b"pay once") as resp:
        assert resp.status == 502
    assert target.connections == 1


async def test_idle_connections_are_closed_after_the_idle_timeout(raw_target: StartRawTarget,
                                                                  start_albauth: StartAlbauth,
                                                                  client: aiohttp.ClientSession) -> None:
    closed = asyncio.Event()

    async def serve_and_watch(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await serve_ok(reader, writer)
        closed.set()  # albauth closed it

    target = await raw_target(serve_and_watch)
    base, _ = await albauth_for(start_albauth, target, proxy="idle_timeout: 0.3")
    async with client.get(base + "/") as resp:
        assert resp.status == 200
    await asyncio.wait_for(closed.wait(), 3)


async def test_idle_connections_per_origin_are_capped(raw_target: StartRawTarget, start_albauth: StartAlbauth,
                                                      client: aiohttp.ClientSession) -> None:
    """After a burst, no more than `max_idle_per_origin` connections stay open."""
    gate = asyncio.Event()

    async def wait_then_ok(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await read_request(reader) is not None:
            await gate.wait()
            writer.write(answer())
            await writer.drain()

    target = await raw_target(wait_then_ok)
    runtime = await start_albauth(proxy_settings({"app": [target.url]}))
    runtime.forwarder.upstream.pool.max_idle = 2
    base, _ = address(runtime)

    async def get() -> int:
        async with client.get(base + "/") as resp:
            await resp.read()
            return resp.status

    burst = asyncio.gather(*(get() for _ in range(5)))
    while target.connections < 5:
        await asyncio.sleep(0.01)
    gate.set()
    assert await burst == [200] * 5
    (origin,) = runtime.forwarder.upstream.pool._by_key.values()  # noqa: SLF001 - the pool's own count
    assert len(origin.idle) == 2
