"""How a listener is served (albauth/server.py): the connection cap, the open-files limit,
and what aiohttp's refusals write to the log."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import resource
import shutil
import subprocess
from collections.abc import Awaitable, Callable

import pytest
from aiohttp.test_utils import TestServer

from albauth.app import Runtime
from albauth.config.model import Settings
from albauth.server import raise_open_files_limit
from tests.support import address, proxy_settings, raw_http

StartAlbauth = Callable[[Settings], Awaitable[Runtime]]
EchoUpstream = Callable[..., Awaitable[TestServer]]


async def _open(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", port)


async def _get(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bytes:
    writer.write(b"GET /still HTTP/1.1\r\nHost: a.test\r\n\r\n")
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length:"))
    await reader.readexactly(length)
    return head


async def test_connections_past_the_cap_are_closed_and_established_ones_keep_working(
        start_albauth: StartAlbauth, echo_upstream: EchoUpstream) -> None:
    upstream = await echo_upstream()
    settings = dataclasses.replace(proxy_settings({"app": [str(upstream.make_url(""))]}), max_connections=2)
    runtime = await start_albauth(settings)
    _, port = address(runtime)
    kept = [await _open(port), await _open(port)]
    for conn in kept:
        assert (await _get(*conn)).startswith(b"HTTP/1.1 200")
    reader, writer = await _open(port)
    writer.write(b"GET / HTTP/1.1\r\nHost: a.test\r\n\r\n")
    # Closed at once, before any request is read: no response, the stream ends.
    assert await asyncio.wait_for(reader.read(), 5) == b""
    writer.close()
    assert runtime.refused_connections == 1
    for conn in kept:  # the established connections are untouched
        assert (await _get(*conn)).startswith(b"HTTP/1.1 200")
    for _, w in kept:
        w.close()


def test_the_open_files_soft_limit_is_raised_to_the_hard_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft == hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(1024, hard), hard))
        except (ValueError, OSError):
            pytest.skip("cannot lower the soft limit here")
    try:
        limit = raise_open_files_limit()
        now_soft, now_hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        assert now_soft == now_hard == limit or now_hard == resource.RLIM_INFINITY
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


async def test_a_refused_header_line_never_reaches_the_log(
        start_albauth: StartAlbauth, echo_upstream: EchoUpstream, caplog: pytest.LogCaptureFixture) -> None:
    upstream = await echo_upstream()
    runtime = await start_albauth(proxy_settings({"app": [str(upstream.make_url(""))]}))
    _, port = address(runtime)
    secret = "AWSELBAuthSessionCookie-0=c2Vzc2lvbi1zaGFyZC1zZWNyZXQtdmFsdWU"
    with caplog.at_level(logging.DEBUG):
        status, headers, _ = await raw_http(
            port, f"GET / HTTP/1.1\r\nHost: a.test\r\nCookie: {secret}\x01x\r\nConnection: close\r\n\r\n".encode())
    assert status == 400
    assert headers["server"] == "awselb/2.0"
    logged = "\n".join(r.getMessage() + (r.exc_text or "") + str(r.exc_info or "") for r in caplog.records)
    assert "refused a request with 400" in logged
    assert "c2Vzc2lvbi1zaGFyZC1zZWNyZXQtdmFsdWU" not in logged


async def test_the_listen_backlog_is_the_configured_one(
        start_albauth: StartAlbauth, echo_upstream: EchoUpstream) -> None:
    """aiohttp's default (128) overflowed under connection bursts; nginx uses 511 or more."""
    if shutil.which("ss") is None:
        pytest.skip("ss (iproute2) is not installed")
    upstream = await echo_upstream()
    settings = dataclasses.replace(proxy_settings({"app": [str(upstream.make_url(""))]}), listen_backlog=1000)
    runtime = await start_albauth(settings)
    _, port = address(runtime)
    out = subprocess.run(["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True, check=True).stdout
    # State Recv-Q Send-Q ...: for a listening socket, Send-Q is the backlog (capped by somaxconn).
    somaxconn = int(open("/proc/sys/net/core/somaxconn").read())
    assert int(out.split()[2]) == min(1000, somaxconn)
