"""Bodies are streamed both ways and left alone (no buffering, no decoding)."""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web
from aiohttp.test_utils import unused_port
from foundation_helpers import ServeProcess, address, proxy_settings

from .helpers import EchoUpstream, StartAlbauth

# --- Bodies are streamed and left alone -------------------------------------------------

STREAM_BYTES = 200 * 1024 * 1024
CHUNK = 256 * 1024


async def _sink(request: web.Request) -> web.Response:
    total = 0
    digest = hashlib.sha256()
    async for chunk in request.content.iter_chunked(CHUNK):
        total += len(chunk)
        digest.update(chunk)
    return web.json_response({"bytes": total, "sha256": digest.hexdigest()})


async def _source(request: web.Request) -> web.StreamResponse:
    resp = web.StreamResponse()
    resp.content_length = int(request.query["n"])  # known length: ALB streams these too
    await resp.prepare(request)
    block = b"\xa5" * CHUNK
    for _ in range(resp.content_length // CHUNK):
        await resp.write(block)
    await resp.write_eof()
    return resp


async def test_streaming_upload_and_download_do_not_buffer_the_body(echo_upstream: EchoUpstream) -> None:
    """200 MB each way through a real `albauth serve` process; its peak RSS stays flat."""
    upstream = await echo_upstream([("POST", "/sink", _sink), ("GET", "/source", _source)])
    port = unused_port()
    proc = ServeProcess({"ALBAUTH_UPSTREAM": str(upstream.make_url("")), "ALBAUTH_LISTEN": f"127.0.0.1:{port}",
                         "ALBAUTH_ADMIN_LISTEN": "off", "ALBAUTH_LOG_LEVEL": "WARNING"})
    try:
        await proc.wait_ready()
        base = f"http://127.0.0.1:{port}"

        async def generated(total: int) -> AsyncIterator[bytes]:
            block = b"\x5a" * CHUNK
            for _ in range(total // CHUNK):
                yield block

        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
            # Warm up every code path first, so the baseline includes the code, not the data.
            async with session.post(base + "/sink", data=generated(4 * CHUNK)) as resp:
                assert resp.status == 200
            async with session.get(base + f"/source?n={4 * CHUNK}") as resp:
                assert len(await resp.read()) == 4 * CHUNK
            baseline = proc.peak_rss_kib()

            async with session.post(base + "/sink", data=generated(STREAM_BYTES)) as resp:
                assert resp.status == 200
                assert (await resp.json())["bytes"] == STREAM_BYTES
            received = 0
            async with session.get(base + f"/source?n={STREAM_BYTES}") as resp:
                assert resp.status == 200 and resp.content_length == STREAM_BYTES
                async for chunk in resp.content.iter_chunked(CHUNK):
                    received += len(chunk)
            assert received == STREAM_BYTES
        growth_mib = (proc.peak_rss_kib() - baseline) / 1024
        assert growth_mib < 50, f"albauth's peak RSS grew by {growth_mib:.0f} MiB while streaming 2 x 200 MiB"
    finally:
        proc.stop()


async def test_gzip_response_passes_through_undecoded(echo_upstream: EchoUpstream, start_albauth: StartAlbauth,
                                                      client: aiohttp.ClientSession) -> None:
    payload = gzip.compress(b'{"hello": "world"}' * 1000)

    async def gzipped(_: web.Request) -> web.Response:
        return web.Response(body=payload, headers={"Content-Encoding": "gzip", "Content-Type": "application/json"})

    upstream = await echo_upstream([("GET", "/gz", gzipped)])
    base, _ = address(await start_albauth(proxy_settings({"app": [str(upstream.make_url(""))]})))
    async with client.get(base + "/gz", headers={"Accept-Encoding": "gzip"}) as resp:
        assert resp.headers["Content-Encoding"] == "gzip"
        assert await resp.read() == payload


async def test_gzip_request_body_passes_through_undecoded(echo_upstream: EchoUpstream, start_albauth: StartAlbauth,
                                                          client: aiohttp.ClientSession) -> None:
    payload = gzip.compress(b"compressed upload " * 500)

    async def raw_sha(request: web.Request) -> web.Response:
        return web.json_response({"encoding": request.headers.get("Content-Encoding"),
                                  "sha256": hashlib.sha256(await request.read()).hexdigest()})

    upstream = await echo_upstream([("POST", "/gz", raw_sha)], auto_decompress=False)
    base, _ = address(await start_albauth(proxy_settings({"app": [str(upstream.make_url(""))]})))
    async with client.post(base + "/gz", data=payload, headers={"Content-Encoding": "gzip"}) as resp:
        seen = await resp.json()
    assert seen == {"encoding": "gzip", "sha256": hashlib.sha256(payload).hexdigest()}
