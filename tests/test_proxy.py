"""Forwarding as ALB does it (spec 5.3, 6.1, 7.3), over real loopback HTTP.

A real upstream echoes what it received; albauth runs in-process (`start_albauth`) or as a
real `albauth serve` process where memory or signals are the point. Raw sockets are used
where aiohttp's client would normalise the request away.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gzip
import hashlib
import json
import re
import signal
import time
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import WSMsgType, web
from aiohttp.test_utils import unused_port
from foundation_helpers import TRACE_ROOT, ServeProcess, address, headers_of, proxy_settings, raw_http

from albauth.config.model import TargetGroup


def alb_page(status: int, reason: str) -> bytes:
    """ALB's error page as spec 6.2 gives it."""
    title = f"{status} {reason}"
    return (f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
            f"<center><h1>{title}</h1></center>\r\n</body>\r\n</html>\r\n").encode()


@pytest.fixture
async def proxied(echo_upstream: Any, start_albauth: Any) -> tuple[str, int]:
    """albauth forwarding everything to one echo upstream: (base URL, listener port)."""
    upstream = await echo_upstream()
    return address(await start_albauth(proxy_settings({"app": [str(upstream.make_url(""))]})))


@pytest.fixture
async def client() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(auto_decompress=False) as session:
        yield session


async def get_echo(client: aiohttp.ClientSession, url: str, **kwargs: Any) -> dict[str, Any]:
    async with client.request(kwargs.pop("method", "GET"), url, **kwargs) as resp:
        assert resp.status == 200, await resp.text()
        data: dict[str, Any] = await resp.json()
        return data


# --- ALB's forwarding headers (spec 5.3) ------------------------------------------------

async def test_x_forwarded_for_is_appended_with_the_tcp_peer(proxied, client) -> None:
    """Checklist 55: `client, proxy` becomes `client, proxy, <peer>`."""
    base, _ = proxied
    seen = await get_echo(client, base + "/", headers={"X-Forwarded-For": "203.0.113.7, 10.0.0.1"})
    assert headers_of(seen, "X-Forwarded-For") == ["203.0.113.7, 10.0.0.1, 127.0.0.1"]


async def test_x_forwarded_for_is_the_peer_when_the_client_sends_none(proxied, client) -> None:
    """Checklist 55."""
    base, _ = proxied
    seen = await get_echo(client, base + "/")
    assert headers_of(seen, "X-Forwarded-For") == ["127.0.0.1"]


async def test_repeated_x_forwarded_for_lines_are_combined_then_appended(proxied) -> None:
    """RFC 9110 5.3: repeated field lines are one comma-separated list; none is dropped,
    and together they count towards the 30-address limit."""
    _, port = proxied
    status, _, body = await raw_http(port, b"GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 192.0.2.1\r\n"
                                           b"X-Forwarded-For: 192.0.2.2, 192.0.2.3\r\nConnection: close\r\n\r\n")
    assert status == 200
    assert headers_of(json.loads(body), "X-Forwarded-For") == ["192.0.2.1, 192.0.2.2, 192.0.2.3, 127.0.0.1"]
    lines = "".join(f"X-Forwarded-For: {', '.join(f'10.{n}.0.{i}' for i in range(16))}\r\n" for n in range(2))
    status, _, _ = await raw_http(port, f"GET / HTTP/1.1\r\nHost: a\r\n{lines}Connection: close\r\n\r\n".encode())
    assert status == 463


async def test_x_forwarded_proto_and_port_describe_the_listener(proxied, client) -> None:
    """Checklist 55: X-Forwarded-Port is the listener's port; a client's own values are replaced."""
    base, port = proxied
    seen = await get_echo(client, base + "/", headers={"X-Forwarded-Proto": "https", "X-Forwarded-Port": "1"})
    assert headers_of(seen, "X-Forwarded-Proto") == ["http"]
    assert headers_of(seen, "X-Forwarded-Port") == [str(port)]


@pytest.mark.parametrize("host", ["app.test", "app.test:8443", "APP.Test"])
async def test_host_header_is_preserved(proxied, host: str) -> None:
    _, port = proxied
    status, _, body = await raw_http(port, f"GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
    assert status == 200
    assert headers_of(json.loads(body), "Host") == [host]


async def test_trace_id_root_is_added_when_absent(proxied, client) -> None:
    """Checklist 56: `Root=1-<8 hex epoch seconds>-<24 hex>`."""
    base, _ = proxied
    seen = await get_echo(client, base + "/")
    (trace,) = headers_of(seen, "X-Amzn-Trace-Id")
    assert re.fullmatch(TRACE_ROOT, trace)
    assert abs(int(trace[7:15], 16) - time.time()) < 60


async def test_trace_id_root_is_kept_and_self_added_with_custom_fields_kept(proxied, client) -> None:
    """Checklist 56: with an inbound Root, ALB adds `Self=` and keeps Root and custom fields."""
    base, _ = proxied
    inbound = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1;Lineage=a87bd80c:0"
    seen = await get_echo(client, base + "/", headers={"X-Amzn-Trace-Id": inbound})
    (trace,) = headers_of(seen, "X-Amzn-Trace-Id")
    fields = trace.split(";")
    assert fields[0] == "Root=1-5759e988-bd862e3fe1be46a994272793"
    assert [f for f in fields if f.startswith("Self=")] and re.fullmatch(
        r"Self=1-[0-9a-f]{8}-[0-9a-f]{24}", next(f for f in fields if f.startswith("Self=")))
    for custom in ("Parent=53995c3f42cd8ad8", "Sampled=1", "Lineage=a87bd80c:0"):
        assert custom in fields


async def test_trace_id_self_is_updated_not_repeated(proxied, client) -> None:
    """Checklist 56: a hop behind another ALB carries `Self=` already; it is replaced."""
    base, _ = proxied
    inbound = "Self=1-67891234-12456789abcdef012345678;Root=1-67891233-abcdef012345678912345678;CalledFrom=app"
    seen = await get_echo(client, base + "/", headers={"X-Amzn-Trace-Id": inbound})
    (trace,) = headers_of(seen, "X-Amzn-Trace-Id")
    selfs = [f for f in trace.split(";") if f.startswith("Self=")]
    assert len(selfs) == 1 and selfs[0] != "Self=1-67891234-12456789abcdef012345678"
    assert "Root=1-67891233-abcdef012345678912345678" in trace and "CalledFrom=app" in trace


# --- Hop-by-hop and identity headers ----------------------------------------------------

async def test_hop_by_hop_request_headers_are_not_forwarded(proxied) -> None:
    """RFC 9110 7.6.1: Connection, Keep-Alive, TE, Upgrade (not a WebSocket) and every field
    named in Connection stop at the proxy."""
    _, port = proxied
    request = (b"GET /hop HTTP/1.1\r\nHost: app.test\r\nConnection: keep-alive, X-Hop-Only, Upgrade\r\n"
               b"Keep-Alive: timeout=5\r\nTE: trailers\r\nUpgrade: h2c\r\nX-Hop-Only: secret\r\n"
               b"Proxy-Connection: keep-alive\r\nX-End-To-End: kept\r\n\r\n")
    # keep-alive on purpose: the response is read by Content-Length
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    length = int(re.search(rb"(?i)content-length: (\d+)", head).group(1))  # type: ignore[union-attr]
    seen = json.loads(await reader.readexactly(length))
    writer.close()
    names = {k.lower() for k, _ in seen["headers"]}
    assert not names & {"keep-alive", "te", "upgrade", "x-hop-only", "proxy-connection"}
    assert headers_of(seen, "Connection") in ([], ["keep-alive"])  # the client library's own hop
    assert headers_of(seen, "X-End-To-End") == ["kept"]


async def test_hop_by_hop_response_headers_are_not_returned(echo_upstream, start_albauth, client) -> None:
    async def hoppy(_: web.Request) -> web.Response:
        return web.Response(text="ok", headers={"Connection": "X-Hop-Only", "X-Hop-Only": "1",
                                                "Keep-Alive": "timeout=99", "Proxy-Authenticate": "Basic",
                                                "Trailer": "X-Sum", "X-End-To-End": "kept"})

    upstream = await echo_upstream([("GET", "/hoppy", hoppy)])
    base, _ = address(await start_albauth(proxy_settings({"app": [str(upstream.make_url(""))]})))
    async with client.get(base + "/hoppy") as resp:
        assert resp.status == 200 and await resp.text() == "ok"
        for name in ("X-Hop-Only", "Keep-Alive", "Proxy-Authenticate", "Trailer"):
            assert name not in resp.headers
        assert resp.headers["X-End-To-End"] == "kept"
        assert resp.headers.get("Connection", "keep-alive").lower() == "keep-alive"


async def test_response_status_and_repeated_headers_pass_through(echo_upstream, start_albauth) -> None:
    async def cookies(_: web.Request) -> web.Response:
        resp = web.Response(status=204, headers={"Server": "my-app/1.0", "X-Multi": "a"})
        resp.headers.add("X-Multi", "b")
        resp.set_cookie("one", "1", path="/")
        resp.set_cookie("two", "2", httponly=True)
        return resp

    upstream = await echo_upstream([("GET", "/cookies", cookies)])
    _, port = address(await start_albauth(proxy_settings({"app": [str(upstream.make_url(""))]})))
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /cookies HTTP/1.1\r\nHost: a\r\n\r\n")
    head = (await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)).decode()
    writer.close()
    assert head.startswith("HTTP/1.1 204 ")
    lines = [line.lower() for line in head.split("\r\n")]
    assert [line for line in lines if line.startswith("set-cookie:")] == [
        "set-cookie: one=1; path=/", "set-cookie: two=2; httponly; path=/"]
    assert [line for line in lines if line.startswith("x-multi:")] == ["x-multi: a", "x-multi: b"]
    assert "server: my-app/1.0" in lines  # the target's own Server header, as ALB passes it
    assert not [line for line in lines if line.startswith(("content-length: 1", "transfer-encoding"))]


@pytest.mark.parametrize("name", ["x-amzn-oidc-data", "X-Amzn-Oidc-Identity", "X-AMZN-OIDC-ACCESSTOKEN",
                                  "x-AmZn-OiDc-Data"])
async def test_spoofed_oidc_headers_never_reach_the_target(proxied, name: str) -> None:
    """Checklist 54 (spec 9 #14: albauth strips them on every rule by default)."""
    _, port = proxied
    request = (f"GET / HTTP/1.1\r\nHost: app.test\r\n{name}: forged\r\n{name}: forged-again\r\n"
               "Connection: close\r\n\r\n").encode()
    status, _, body = await raw_http(port, request)
    assert status == 200
    seen = json.loads(body)
    assert not [k for k, _ in seen["headers"] if k.lower().startswith("x-amzn-oidc-")]


# --- The request as sent --------------------------------------------------------------

@pytest.mark.parametrize("target", [
    "/a%3Bb/~user/caf%C3%A9?x=%41&y=a+b%20c&z",
    "/p;matrix=1/single?q=%2F%3F%26&=&&empty=",
    "/search?q=%E2%9C%93&Q=%e2%9c%93&sort=-date",
])
async def test_path_and_query_pass_exactly_as_sent(proxied, target: str) -> None:
    """ALB does not rewrite the request-target: percent-encoding, case and order are kept
    (the path once normalized, albauth.paths; the query always)."""
    _, port = proxied
    status, _, body = await raw_http(port, f"GET {target} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n".encode())
    assert status == 200
    assert json.loads(body)["raw_path"] == target


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "PROPFIND"])
async def test_methods_and_bodies_are_forwarded(proxied, client, method: str) -> None:
    base, _ = proxied
    body = f"payload for {method} \u2713".encode()
    seen = await get_echo(client, base + "/m?x=1", method=method, data=body,
                          headers={"Content-Type": "application/octet-stream"})
    assert seen["method"] == method
    assert seen["body"].encode() == body
    assert headers_of(seen, "Content-Length") == [str(len(body))]


async def test_head_is_forwarded_without_a_body(proxied, client) -> None:
    base, _ = proxied
    async with client.head(base + "/h") as resp:
        assert resp.status == 200
        assert int(resp.headers["Content-Length"]) > 0  # the length a GET would have had
        assert await resp.read() == b""


async def test_chunked_request_body_is_forwarded(proxied) -> None:
    _, port = proxied
    request = (b"POST /chunked HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
               b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
    status, _, body = await raw_http(port, request)
    assert status == 200
    seen = json.loads(body)
    assert seen["method"] == "POST" and seen["body"] == "hello world"


async def test_expect_100_continue_is_answered_before_the_body_is_read(proxied) -> None:
    """curl sends `Expect: 100-continue` with larger uploads and waits for the interim
    response; a proxy that forwards the body must send it (RFC 9110 10.1.1)."""
    _, port = proxied
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(b"PUT /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n"
                     b"Connection: close\r\n\r\n")
        interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 2)
        assert interim.startswith(b"HTTP/1.1 100 ")
        writer.write(b"hello")
        head, _, body = (await asyncio.wait_for(reader.read(-1), 5)).partition(b"\r\n\r\n")
    finally:
        writer.close()
    assert head.startswith(b"HTTP/1.1 200 ")
    assert json.loads(body)["body"] == "hello"


async def test_chunked_response_of_unknown_length_is_streamed(echo_upstream, start_albauth, client) -> None:
    async def trickle(_: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse()
        resp.enable_chunked_encoding()
        await resp.prepare(_)
        for i in range(50):
            await resp.write(f"line {i}\n".encode() * 1000)
        await resp.write_eof()
        return resp

    upstream = await echo_upstream([("GET", "/trickle", trickle)])
    base, _ = address(await start_albauth(proxy_settings({"app": [str(upstream.make_url(""))]})))
    async with client.get(base + "/trickle") as resp:
        assert resp.status == 200 and "Content-Length" not in resp.headers
        assert await resp.read() == b"".join(f"line {i}\n".encode() * 1000 for i in range(50))


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


async def test_streaming_upload_and_download_do_not_buffer_the_body(echo_upstream) -> None:
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


async def test_gzip_response_passes_through_undecoded(echo_upstream, start_albauth, client) -> None:
    payload = gzip.compress(b'{"hello": "world"}' * 1000)

    async def gzipped(_: web.Request) -> web.Response:
        return web.Response(body=payload, headers={"Content-Encoding": "gzip", "Content-Type": "application/json"})

    upstream = await echo_upstream([("GET", "/gz", gzipped)])
    base, _ = address(await start_albauth(proxy_settings({"app": [str(upstream.make_url(""))]})))
    async with client.get(base + "/gz", headers={"Accept-Encoding": "gzip"}) as resp:
        assert resp.headers["Content-Encoding"] == "gzip"
        assert await resp.read() == payload


async def test_gzip_request_body_passes_through_undecoded(echo_upstream, start_albauth, client) -> None:
    payload = gzip.compress(b"compressed upload " * 500)

    async def raw_sha(request: web.Request) -> web.Response:
        return web.json_response({"encoding": request.headers.get("Content-Encoding"),
                                  "sha256": hashlib.sha256(await request.read()).hexdigest()})

    upstream = await echo_upstream([("POST", "/gz", raw_sha)], auto_decompress=False)
    base, _ = address(await start_albauth(proxy_settings({"app": [str(upstream.make_url(""))]})))
    async with client.post(base + "/gz", data=payload, headers={"Content-Encoding": "gzip"}) as resp:
        seen = await resp.json()
    assert seen == {"encoding": "gzip", "sha256": hashlib.sha256(payload).hexdigest()}


# --- WebSockets ------------------------------------------------------------------------

async def test_websocket_text_binary_and_client_close_are_relayed(proxied, client) -> None:
    base, _ = proxied
    async with client.ws_connect(base + "/ws") as ws:
        await ws.send_str("hello \u2713")
        assert (await ws.receive(timeout=5)).data == "hello \u2713"
        await ws.send_bytes(bytes(range(256)) * 100)
        msg = await ws.receive(timeout=5)
        assert msg.type == WSMsgType.BINARY and msg.data == bytes(range(256)) * 100
        await ws.close(code=4001)
    assert ws.closed


async def test_websocket_close_from_the_target_reaches_the_client(proxied, client) -> None:
    base, _ = proxied
    async with client.ws_connect(base + "/ws") as ws:
        await ws.send_str("close:4000")
        msg = await ws.receive(timeout=5)
        assert msg.type == WSMsgType.CLOSE and msg.data == 4000


async def test_websocket_upgrade_carries_albs_forwarding_headers(echo_upstream, start_albauth, client) -> None:
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


# --- ALB's own answers -----------------------------------------------------------------

async def test_target_down_is_502_with_albs_page(start_albauth, client) -> None:
    closed = f"http://127.0.0.1:{unused_port()}"
    base, _ = address(await start_albauth(proxy_settings({"app": [closed]})))
    async with client.get(base + "/") as resp:
        assert resp.status == 502
        assert resp.headers["Server"] == "awselb/2.0"
        assert resp.headers["Content-Type"].startswith("text/html")
        assert await resp.read() == alb_page(502, "Bad Gateway")


async def test_slow_target_is_504_after_the_idle_timeout(echo_upstream, start_albauth, client) -> None:
    async def slow(_: web.Request) -> web.Response:
        await asyncio.sleep(2)
        return web.Response(text="too late")

    upstream = await echo_upstream([("GET", "/slow", slow)])
    settings = proxy_settings({"app": [str(upstream.make_url(""))]}, proxy="idle_timeout: 0.5")
    base, _ = address(await start_albauth(settings))
    started = time.monotonic()
    async with client.get(base + "/slow") as resp:
        assert resp.status == 504
        assert resp.headers["Server"] == "awselb/2.0"
        assert await resp.read() == alb_page(504, "Gateway Time-out")
    assert time.monotonic() - started < 1.8


async def test_target_group_without_targets_is_503(echo_upstream, start_albauth, client) -> None:
    """ALB answers 503 when a forward's target group has no registered targets.
    The config loader insists on at least one target, so the empty group is added to the model."""
    upstream = await echo_upstream()
    settings = proxy_settings({"app": [str(upstream.make_url(""))], "empty": ["http://127.0.0.1:1"]},
                              rules="""
                              - Priority: 1
                                Conditions: [{Field: path-pattern, Values: ["/empty/*"]}]
                                Actions: [{Type: forward, TargetGroupArn: empty}]
                              """)
    settings = dataclasses.replace(settings, target_groups={**settings.target_groups,
                                                            "empty": TargetGroup("empty", ())})
    base, _ = address(await start_albauth(settings))
    assert (await get_echo(client, base + "/other"))["path"] == "/other"
    async with client.get(base + "/empty/x") as resp:
        assert resp.status == 503
        assert resp.headers["Server"] == "awselb/2.0"
        body = await resp.read()
    assert body == alb_page(503, "Service Temporarily Unavailable") and len(body) == 162  # spec 6.2


async def test_more_than_30_forwarded_for_addresses_is_463(proxied, client) -> None:
    """Spec 5.3 / 6.1: X-Forwarded-For with more than 30 addresses."""
    base, _ = proxied
    thirty = ", ".join(f"10.0.0.{i}" for i in range(30))
    assert (await get_echo(client, base + "/", headers={"X-Forwarded-For": thirty}))["method"] == "GET"
    async with client.get(base + "/", headers={"X-Forwarded-For": thirty + ", 10.0.1.1"}) as resp:
        assert resp.status == 463
        assert resp.headers["Server"] == "awselb/2.0"


async def test_a_20k_single_header_is_400(proxied) -> None:
    """Spec 6.1: a single request header is limited to 16K."""
    _, port = proxied
    request = b"GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + b"a" * 20 * 1024 + b"\r\nConnection: close\r\n\r\n"
    status, headers, body = await raw_http(port, request)
    assert status == 400
    assert headers["server"] == "awselb/2.0"
    assert body == alb_page(400, "Bad Request")


async def test_a_request_line_over_16k_is_400(proxied) -> None:
    _, port = proxied
    request = b"GET /" + b"a" * 17 * 1024 + b" HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
    status, headers, _ = await raw_http(port, request)
    assert status in (400, 414)
    assert headers["server"] == "awselb/2.0"


async def test_trace_is_405(proxied) -> None:
    _, port = proxied
    status, headers, body = await raw_http(port, b"TRACE / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
    assert status == 405
    assert headers["server"] == "awselb/2.0"
    assert body == alb_page(405, "Method Not Allowed")


# --- fixed-response and redirect actions (spec 7.3) ------------------------------------

@pytest.mark.parametrize(("status", "ctype", "body"), [
    ("200", "text/plain", "healthy"),
    ("404", "application/json", '{"error": "not here"}'),
    ("503", "text/html", "<h1>maintenance</h1>" + "x" * 1000),
])
async def test_fixed_response_returns_status_content_type_and_body(start_albauth, client, status: str,
                                                                   ctype: str, body: str) -> None:
    """Checklist 65."""
    default = json.dumps([{"Type": "fixed-response", "FixedResponseConfig": {
        "StatusCode": status, "ContentType": ctype, "MessageBody": body}}])
    base, _ = address(await start_albauth(proxy_settings({"app": ["http://127.0.0.1:1"]}, default=default)))
    async with client.get(base + "/anything") as resp:
        assert resp.status == int(status)
        assert resp.content_type == ctype
        assert resp.headers["Server"] == "awselb/2.0"
        assert await resp.text() == body


async def test_redirect_fills_placeholders(start_albauth) -> None:
    """Checklist 64: `http://a.test/p?q=1` -> 301 `https://a.test:443/p?q=1`."""
    default = json.dumps([{"Type": "redirect", "RedirectConfig": {
        "Protocol": "HTTPS", "Port": "443", "Host": "#{host}", "Path": "/#{path}", "Query": "#{query}",
        "StatusCode": "HTTP_301"}}])
    _, port = address(await start_albauth(proxy_settings({"app": ["http://127.0.0.1:1"]}, default=default)))
    status, headers, _ = await raw_http(port,
                                        b"GET /p?q=1 HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n")
    assert status == 301
    assert headers["location"] == "https://a.test:443/p?q=1"
    assert headers["server"] == "awselb/2.0"


async def test_redirect_with_fixed_parts_and_302(start_albauth) -> None:
    default = json.dumps([{"Type": "redirect", "RedirectConfig": {
        "Host": "new.example.com", "Path": "/moved/#{path}", "Query": "from=#{host}&#{query}",
        "StatusCode": "HTTP_302"}}])
    _, port = address(await start_albauth(proxy_settings({"app": ["http://127.0.0.1:1"]}, default=default)))
    status, headers, _ = await raw_http(port, b"GET /a/b?x=%20y HTTP/1.1\r\nHost: old.test:81\r\n"
                                              b"Connection: close\r\n\r\n")
    assert status == 302
    assert headers["location"] == f"http://new.example.com:{port}/moved/a/b?from=old.test&x=%20y"


# --- Weighted forward (spec 7.3) -------------------------------------------------------

async def test_weighted_forward_splits_10_20_and_weight_0_gets_none(echo_upstream, start_albauth) -> None:
    """Checklist 63: weights 10/20 route about 1/3 and 2/3 of 3000 requests (within 5 %)."""

    def named(name: str) -> Any:
        async def who(_: web.Request) -> web.Response:
            return web.Response(text=name)
        return who

    one = await echo_upstream([("GET", "/who", named("one"))])
    two = await echo_upstream([("GET", "/who", named("two"))])
    closed = f"http://127.0.0.1:{unused_port()}"  # a request sent here would come back 502
    default = json.dumps([{"Type": "forward", "ForwardConfig": {"TargetGroups": [
        {"TargetGroupArn": "one", "Weight": 10}, {"TargetGroupArn": "two", "Weight": 20},
        {"TargetGroupArn": "zero", "Weight": 0}]}}])
    settings = proxy_settings({"one": [str(one.make_url(""))], "two": [str(two.make_url(""))], "zero": [closed]},
                              default=default)
    base, _ = address(await start_albauth(settings))
    counts: Counter[str] = Counter()
    gate = asyncio.Semaphore(32)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=32)) as session:

        async def one_request() -> None:
            async with gate, session.get(base + "/who") as resp:
                counts[await resp.text() if resp.status == 200 else str(resp.status)] += 1

        await asyncio.gather(*(one_request() for _ in range(3000)))
    assert sum(counts.values()) == 3000
    assert set(counts) <= {"one", "two"}, counts
    assert abs(counts["one"] / 3000 - 1 / 3) < 0.05, counts
    assert abs(counts["two"] / 3000 - 2 / 3) < 0.05, counts


# --- Lifecycle -------------------------------------------------------------------------

async def test_request_in_flight_when_stop_begins_completes(echo_upstream, start_albauth, client) -> None:
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


async def test_stop_ends_open_websockets_with_going_away(start_albauth, echo_upstream, client) -> None:
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


async def test_env_only_serve_forwards_with_alb_headers_and_stops_on_sigterm(echo_upstream) -> None:
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
