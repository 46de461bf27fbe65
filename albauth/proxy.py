"""Forwarding to targets, as ALB does it (spec 5.3): one pooled keep-alive client, bodies
streamed both ways, WebSocket upgrades spliced, hop-by-hop headers dropped, `Host` kept,
`X-Forwarded-*` and `X-Amzn-Trace-Id` set, and ALB's 502/503/504 pages when a target fails.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Iterable, Sequence

import aiohttp
from aiohttp import WSMsgType, web
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from albauth.config.model import ProxySettings
from albauth.error_pages import alb_error_response
from albauth.upstream import Connection, MalformedRequestHead, TargetTimeout, UpstreamClient, UpstreamError

log = logging.getLogger("albauth.proxy")

# RFC 9110 7.6.1 hop-by-hop fields, plus the WebSocket handshake fields the client library
# regenerates for its own connection to the target.
HOP_BY_HOP = frozenset({
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection",
    "te", "trailer", "transfer-encoding", "upgrade",
})
_WS_HANDSHAKE = frozenset({"sec-websocket-key", "sec-websocket-version", "sec-websocket-extensions",
                           "sec-websocket-protocol", "sec-websocket-accept"})
_ALB_SET = frozenset({"x-forwarded-for", "x-forwarded-proto", "x-forwarded-port", "host", "x-amzn-trace-id"})
# Responses up to this size are read whole and sent in one write; larger ones stream.
_SMALL_BODY = 256 * 1024
_CHUNK = 64 * 1024


def new_trace_id(now: float | None = None) -> str:
    t = int(time.time() if now is None else now)
    return f"1-{t:08x}-{os.urandom(12).hex()}"


def trace_header(inbound: str | None) -> str:
    """ALB adds `Root=` when there is none; with a Root, it adds or updates `Self=` and keeps
    the other fields."""
    if not inbound or "Root=" not in inbound:
        return f"Root={new_trace_id()}"
    fields = [f for f in (p.strip() for p in inbound.split(";")) if f and not f.startswith("Self=")]
    fields.insert(1, f"Self={new_trace_id()}")
    return ";".join(fields)


def connection_tokens(headers: CIMultiDictProxy[str]) -> frozenset[str]:
    """Fields named in `Connection` are hop-by-hop for this message too."""
    named = headers.getall("Connection", ())
    if not named:
        return frozenset()
    return frozenset(t.strip().lower() for v in named for t in v.split(","))


def upstream_request_headers(request: web.BaseRequest, *, forwarded_for: str, proto: str, port: str,
                             auth_headers: Sequence[tuple[str, str]], websocket: bool) -> CIMultiDict[str]:
    """Headers for the target, in ALB's order on the wire: X-Forwarded-For, -Proto, -Port,
    Host, X-Amzn-Trace-Id, X-Amzn-Oidc-*, then the client's own."""
    inbound = request.headers
    out: CIMultiDict[str] = CIMultiDict()
    out["X-Forwarded-For"] = forwarded_for
    out["X-Forwarded-Proto"] = proto
    out["X-Forwarded-Port"] = port
    host = inbound.get("Host")
    if host is not None:
        out["Host"] = host
    out["X-Amzn-Trace-Id"] = trace_header(inbound.get("X-Amzn-Trace-Id"))
    for name, value in auth_headers:
        out.add(name, value)
    extra_hop = connection_tokens(inbound)
    for name, value in inbound.items():
        lower = name.lower()
        if (lower in HOP_BY_HOP or lower in _ALB_SET or lower.startswith("x-amzn-oidc-")
                or lower in extra_hop or (websocket and lower in _WS_HANDSHAKE)):
            continue
        out.add(name, value)
    return out


def _response_headers(upstream: Connection, extra: Iterable[tuple[str, str]], out: CIMultiDict[str]) -> None:
    """Fills `out`, the response's own headers (no intermediate multidict to copy)."""
    extra_hop = frozenset(t.strip().lower() for v in upstream.connection for t in v.split(",")) \
        if upstream.connection else frozenset()
    for name, value in upstream.headers:
        lower = name.lower()
        if lower in HOP_BY_HOP or lower == "content-length" or lower in extra_hop:
            continue
        out.add(name, value)
    for name, value in extra:
        out.add(name, value)


class Forwarder:
    """Owns the pooled upstream clients; one per process. HTTP goes through albauth's own
    HTTP/1.1 client (`albauth.upstream`); WebSocket upgrades through aiohttp's."""

    def __init__(self, settings: ProxySettings) -> None:
        self.settings = settings
        self.upstream = UpstreamClient(connect_timeout=settings.connect_timeout,
                                       idle_timeout=settings.idle_timeout,
                                       verify_certificates=settings.verify_target_certificates)
        self._client: aiohttp.ClientSession | None = None
        self._websockets: set[web.WebSocketResponse] = set()
        self._stopping = False

    @property
    def client(self) -> aiohttp.ClientSession:
        """aiohttp's client, for WebSocket upgrades only."""
        if self._client is None:
            connector = aiohttp.TCPConnector(limit=0, keepalive_timeout=self.settings.idle_timeout,
                                             ttl_dns_cache=60, enable_cleanup_closed=True)
            self._client = aiohttp.ClientSession(
                connector=connector,
                auto_decompress=False,  # bytes pass through exactly as the target sent them
                cookie_jar=aiohttp.DummyCookieJar(),
                skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
                timeout=aiohttp.ClientTimeout(total=None, connect=self.settings.connect_timeout,
                                              sock_read=self.settings.idle_timeout),
            )
        return self._client

    async def close_websockets(self) -> None:
        """End every relayed WebSocket with 1001 Going Away (RFC 6455 7.4.1), and refuse new
        ones. They live for hours; left open, each would hold a graceful shutdown for its
        whole timeout."""
        self._stopping = True
        await asyncio.gather(*(ws.close(code=1001, message=b"server shutting down")
                               for ws in list(self._websockets)), return_exceptions=True)

    async def close(self) -> None:
        self.upstream.close()
        if self._client is not None:
            await self._client.close()
            self._client = None

    async def forward(self, request: web.BaseRequest, target: URL, headers: CIMultiDict[str],
                      response_headers: Sequence[tuple[str, str]] = (),
                      path_qs: str | None = None) -> web.StreamResponse:
        """`path_qs`: the request-target to send (the normalized path the rules matched);
        None sends the client's own."""
        origin = self.upstream.pool.origin(target)
        raw_target = request.raw_path if path_qs is None else path_qs
        if request.headers.get("Upgrade", "").lower() == "websocket":
            url = URL(origin.base + raw_target, encoded=True)
            return await self._websocket(request, url, headers, response_headers)
        body = request.content if request.body_exists else None
        if (body is not None and request.version >= (1, 1)  # HTTP/1.0 ignores it (RFC 9110 10.1.1)
                and request.headers.get("Expect", "").lower() == "100-continue"):
            # The client holds the body back until it hears this (RFC 9110 10.1.1); aiohttp's
            # low-level server leaves it to the handler. The expectation ends here.
            await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            headers.popall("Expect", None)
        try:
            upstream = await self.upstream.send(origin, request.method, raw_target, headers, body)
        except TargetTimeout as exc:
            log.warning("target %s timed out: %s", target, exc)
            return alb_error_response(504)
        except UpstreamError as exc:
            log.warning("target %s failed: %s: %s", target, exc.__class__.__name__, exc)
            return alb_error_response(502)
        except MalformedRequestHead:
            return alb_error_response(400)
        status, length = upstream.status, upstream.content_length
        no_body = request.method == "HEAD" or status in (204, 304)
        if no_body or (length is not None and length <= _SMALL_BODY):
            return await self._relay_whole(upstream, response_headers, no_body)
        try:
            return await self._relay_stream(request, upstream, response_headers)
        finally:
            self.upstream.release(upstream)

    async def _relay_whole(self, upstream: Connection, extra: Sequence[tuple[str, str]],
                           no_body: bool) -> web.StreamResponse:
        """A small response of known length: read whole, sent in one write."""
        try:
            body = b"" if no_body else await upstream.read_all()
        except TargetTimeout:
            return alb_error_response(504)
        except UpstreamError:
            return alb_error_response(502)
        finally:
            # Back to the pool before our client has the response: the target is free sooner.
            self.upstream.release(upstream)
        resp = web.Response(status=upstream.status, reason=upstream.reason, body=body)
        _response_headers(upstream, extra, resp.headers)
        if no_body and upstream.content_length is not None:
            resp.headers["Content-Length"] = str(upstream.content_length)
        return resp

    async def _relay_stream(self, request: web.BaseRequest, upstream: Connection,
                            extra: Sequence[tuple[str, str]]) -> web.StreamResponse:
        """Large or of unknown length: streamed, at the pace of the slower side."""
        resp = web.StreamResponse(status=upstream.status, reason=upstream.reason)
        _response_headers(upstream, extra, resp.headers)
        if upstream.content_length is not None:
            resp.content_length = upstream.content_length
        else:
            resp.enable_chunked_encoding()
        try:
            first = await upstream.read_chunk()
        except TargetTimeout:
            return alb_error_response(504)
        except UpstreamError:
            return alb_error_response(502)
        await resp.prepare(request)
        try:
            chunk = first
            while chunk:
                await resp.write(chunk)
                chunk = await upstream.read_chunk()
        except (UpstreamError, ConnectionResetError) as exc:
            # Headers are gone already: all ALB can do is cut the connection.
            log.warning("target response broke off: %s", exc.__class__.__name__)
            if request.transport is not None:
                request.transport.close()
            return resp
        await resp.write_eof()
        return resp

    async def _websocket(self, request: web.BaseRequest, url: URL, headers: CIMultiDict[str],
                         response_headers: Sequence[tuple[str, str]]) -> web.StreamResponse:
        if self._stopping:
            return alb_error_response(503)
        protocols = [p.strip() for p in request.headers.get("Sec-WebSocket-Protocol", "").split(",") if p.strip()]
        ws_url = url.with_scheme("wss" if url.scheme == "https" else "ws")
        try:
            upstream = await self.client.ws_connect(ws_url, headers=headers, protocols=protocols,
                                                    autoclose=False, autoping=False, max_msg_size=0,
                                                    ssl=self.settings.verify_target_certificates)
        except TimeoutError:
            return alb_error_response(504)
        except aiohttp.WSServerHandshakeError as exc:
            return alb_error_response(502 if exc.status < 400 else exc.status)
        except aiohttp.ClientError:
            return alb_error_response(502)
        client_ws = web.WebSocketResponse(protocols=(upstream.protocol,) if upstream.protocol else (),
                                          autoclose=False, autoping=False, max_msg_size=0)
        for name, value in response_headers:
            client_ws.headers.add(name, value)
        await client_ws.prepare(request)  # type: ignore[arg-type]
        self._websockets.add(client_ws)

        async def pump(src: web.WebSocketResponse | aiohttp.ClientWebSocketResponse,
                       dst: web.WebSocketResponse | aiohttp.ClientWebSocketResponse) -> None:
            async for msg in src:
                if msg.type == WSMsgType.TEXT:
                    await dst.send_str(msg.data)
                elif msg.type == WSMsgType.BINARY:
                    await dst.send_bytes(msg.data)
                elif msg.type == WSMsgType.PING:
                    await dst.ping(msg.data)
                elif msg.type == WSMsgType.PONG:
                    await dst.pong(msg.data)
                elif msg.type == WSMsgType.CLOSE:
                    break
            if not dst.closed:
                await dst.close(code=src.close_code or 1000)

        tasks = [asyncio.ensure_future(pump(client_ws, upstream)),
                 asyncio.ensure_future(pump(upstream, client_ws))]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._websockets.discard(client_ws)
            for t in tasks:
                t.cancel()
            await upstream.close()
            await client_ws.close()
        return client_ws
