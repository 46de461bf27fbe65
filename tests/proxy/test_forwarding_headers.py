"""ALB's forwarding headers (spec 5.3), hop-by-hop fields and the identity headers a
client must not forge, as the target receives them."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
import time

import aiohttp
import pytest
from aiohttp import web

from tests.support import TRACE_ROOT, address, headers_of, proxy_settings, raw_http

from .helpers import EchoUpstream, StartAlbauth, get_echo

# --- ALB's forwarding headers (spec 5.3) ------------------------------------------------

async def test_x_forwarded_for_is_appended_with_the_tcp_peer(proxied: tuple[str, int],
                                                             client: aiohttp.ClientSession) -> None:
    """Checklist 55: `client, proxy` becomes `client, proxy, <peer>`."""
    base, _ = proxied
    seen = await get_echo(client, base + "/", headers={"X-Forwarded-For": "203.0.113.7, 10.0.0.1"})
    assert headers_of(seen, "X-Forwarded-For") == ["203.0.113.7, 10.0.0.1, 127.0.0.1"]


async def test_x_forwarded_for_is_the_peer_when_the_client_sends_none(proxied: tuple[str, int],
                                                                      client: aiohttp.ClientSession) -> None:
    """Checklist 55."""
    base, _ = proxied
    seen = await get_echo(client, base + "/")
    assert headers_of(seen, "X-Forwarded-For") == ["127.0.0.1"]


async def test_repeated_x_forwarded_for_lines_are_combined_then_appended(proxied: tuple[str, int]) -> None:
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


async def test_x_forwarded_proto_and_port_describe_the_listener(proxied: tuple[str, int],
                                                                client: aiohttp.ClientSession) -> None:
    """Checklist 55: X-Forwarded-Port is the listener's port; a client's own values are replaced."""
    base, port = proxied
    seen = await get_echo(client, base + "/", headers={"X-Forwarded-Proto": "https", "X-Forwarded-Port": "1"})
    assert headers_of(seen, "X-Forwarded-Proto") == ["http"]
    assert headers_of(seen, "X-Forwarded-Port") == [str(port)]


@pytest.mark.parametrize("host", ["app.test", "app.test:8443", "APP.Test"])
async def test_host_header_is_preserved(echo_upstream: EchoUpstream, start_albauth: StartAlbauth, host: str) -> None:
    """With routing.http.preserve_host_header.enabled (off, ALB's default, the listener's port is
    added: tests/albapi/test_load_balancer_attributes.py)."""
    upstream = await echo_upstream()
    settings = proxy_settings({"app": [str(upstream.make_url(""))]})
    settings = dataclasses.replace(settings, proxy=dataclasses.replace(settings.proxy, preserve_host_header=True))
    _, port = address(await start_albauth(settings))
    status, _, body = await raw_http(port, f"GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
    assert status == 200
    assert headers_of(json.loads(body), "Host") == [host]


async def test_trace_id_root_is_added_when_absent(proxied: tuple[str, int], client: aiohttp.ClientSession) -> None:
    """Checklist 56: `Root=1-<8 hex epoch seconds>-<24 hex>`."""
    base, _ = proxied
    seen = await get_echo(client, base + "/")
    (trace,) = headers_of(seen, "X-Amzn-Trace-Id")
    assert re.fullmatch(TRACE_ROOT, trace)
    assert abs(int(trace[7:15], 16) - time.time()) < 60


async def test_trace_id_root_is_kept_and_self_added_with_custom_fields_kept(proxied: tuple[str, int],
                                                                            client: aiohttp.ClientSession) -> None:
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


async def test_trace_id_self_is_updated_not_repeated(proxied: tuple[str, int], client: aiohttp.ClientSession) -> None:
    """Checklist 56: a hop behind another ALB carries `Self=` already; it is replaced."""
    base, _ = proxied
    inbound = "Self=1-67891234-12456789abcdef012345678;Root=1-67891233-abcdef012345678912345678;CalledFrom=app"
    seen = await get_echo(client, base + "/", headers={"X-Amzn-Trace-Id": inbound})
    (trace,) = headers_of(seen, "X-Amzn-Trace-Id")
    selfs = [f for f in trace.split(";") if f.startswith("Self=")]
    assert len(selfs) == 1 and selfs[0] != "Self=1-67891234-12456789abcdef012345678"
    assert "Root=1-67891233-abcdef012345678912345678" in trace and "CalledFrom=app" in trace


# --- Hop-by-hop and identity headers ----------------------------------------------------

async def test_hop_by_hop_request_headers_are_not_forwarded(proxied: tuple[str, int]) -> None:
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


async def test_hop_by_hop_response_headers_are_not_returned(echo_upstream: EchoUpstream, start_albauth: StartAlbauth,
                                                            client: aiohttp.ClientSession) -> None:
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


async def test_response_status_and_repeated_headers_pass_through(echo_upstream: EchoUpstream,
                                                                 start_albauth: StartAlbauth) -> None:
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
async def test_spoofed_oidc_headers_never_reach_the_target(proxied: tuple[str, int], name: str) -> None:
    """Checklist 54 (spec 9 #14: albauth strips them on every rule by default)."""
    _, port = proxied
    request = (f"GET / HTTP/1.1\r\nHost: app.test\r\n{name}: forged\r\n{name}: forged-again\r\n"
               "Connection: close\r\n\r\n").encode()
    status, _, body = await raw_http(port, request)
    assert status == 200
    seen = json.loads(body)
    assert not [k for k, _ in seen["headers"] if k.lower().startswith("x-amzn-oidc-")]
