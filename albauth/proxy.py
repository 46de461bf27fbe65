"""Forwarding to targets, as ALB does it (spec 5.3): one pooled keep-alive client, bodies
streamed both ways, WebSocket upgrades spliced, hop-by-hop headers dropped, `Host` kept,
`X-Forwarded-*` and `X-Amzn-Trace-Id` set, and ALB's 502/503/504 pages when a target fails.
"""

from __future__ import annotations

import logging
import random
import re
import time
from collections.abc import Callable, Iterable, Sequence

from aiohttp import hdrs, web
from multidict import CIMultiDict
from yarl import URL

from albauth.config.model import ProxySettings
from albauth.error_pages import alb_error_response
from albauth.ops.request_record import record_of
from albauth.upstream import (
    Connection,
    MalformedRequestHead,
    TargetOrigin,
    TargetTimeout,
    TargetUnreachable,
    Tunnel,
    UpstreamClient,
    UpstreamError,
    open_tunnel,
)
from albauth.websocket_relay import WebSocketRelay

log = logging.getLogger("albauth.proxy")

# RFC 9110 7.6.1 hop-by-hop fields. A WebSocket upgrade sets its own Connection and Upgrade;
# its Sec-WebSocket-* fields pass end to end (the target answers the handshake itself).
HOP_BY_HOP = frozenset({
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection",
    "te", "trailer", "transfer-encoding", "upgrade",
})
# The headers albauth sets for the target (spec 5.3): a client's own copy is never forwarded.
# Names are compared lower-cased with `_` folded to `-`, because CGI and WSGI servers
# (wsgiref, older gunicorn) turn both `X-Amzn-Oidc-Data` and `X_Amzn_Oidc_Data` into
# HTTP_X_AMZN_OIDC_DATA: the app would read a forged identity under any spelling.
_ALB_SET = frozenset({"x-forwarded-for", "x-forwarded-proto", "x-forwarded-port", "host", "x-amzn-trace-id"})
_ALB_SET_PREFIXES = ("x-amzn-oidc-", "x-amzn-mtls-")
# ALB's routing.http.drop_invalid_header_fields.enabled: "header fields with names that
# do not conform to the regular expression ([-A-Za-z0-9]+)" are removed.
_VALID_NAME = re.compile(r"[-A-Za-z0-9]+").fullmatch
# Responses up to this size are read whole and sent in one write; larger ones stream.
_SMALL_BODY = 256 * 1024
_CHUNK = 64 * 1024


def new_trace_id(now: float | None = None) -> str:
    # A trace id names a request, it guards nothing: the module's generator (seeded from
    # the OS, re-seeded in a forked child) rather than a system call per request.
    t = int(time.time() if now is None else now)
    return f"1-{t:08x}-{random.getrandbits(96):024x}"


def trace_header(inbound: str | None) -> str:
    """ALB adds `Root=` when there is none; with a Root, it adds or updates `Self=` and keeps
    the other fields."""
    if not inbound or "Root=" not in inbound:
        return f"Root={new_trace_id()}"
    fields = [f for f in (p.strip() for p in inbound.split(";")) if f and not f.startswith("Self=")]
    fields.insert(1, f"Self={new_trace_id()}")
    return ";".join(fields)


def connection_tokens(values: Sequence[str]) -> frozenset[str]:
    """The field names listed in `Connection` values: hop-by-hop for this message too
    (RFC 9110 7.6.1). Requests and responses both go through here."""
    if not values:
        return frozenset()  # the common case: no generator per message
    return frozenset(t.strip().lower() for v in values for t in v.split(","))


_INBOUND = "\0inbound"  # `host` default: the client's Host header, as it came


def upstream_request_headers(request: web.BaseRequest, *, forwarded_for: str | None, proto: str, port: str,
                             auth_headers: Sequence[tuple[str, str]],
                             drop_invalid_header_fields: bool = False,
                             host: str | None = _INBOUND) -> CIMultiDict[str]:
    """Headers for the target, in ALB's order on the wire: X-Forwarded-For (none when None),
    -Proto, -Port, Host (`host`; by default the client's), X-Amzn-Trace-Id, X-Amzn-Oidc-*,
    then the client's own (without names outside `[-A-Za-z0-9]` when `drop_invalid_header_fields`)."""
    inbound = request.headers
    out: CIMultiDict[str] = CIMultiDict()
    if forwarded_for is not None:
        out["X-Forwarded-For"] = forwarded_for
    out["X-Forwarded-Proto"] = proto
    out["X-Forwarded-Port"] = port
    if host == _INBOUND:
        host = inbound.get("Host")
    if host is not None:
        out["Host"] = host
    out["X-Amzn-Trace-Id"] = trace_header(inbound.get("X-Amzn-Trace-Id"))
    for name, value in auth_headers:
        out.add(name, value)
    extra_hop = connection_tokens(inbound.getall("Connection", ()))
    for name, value in inbound.items():
        lower = name.lower()
        if lower in HOP_BY_HOP or lower in extra_hop:
            continue
        if drop_invalid_header_fields and not _VALID_NAME(name):
            continue
        if "_" in lower:
            lower = lower.replace("_", "-")
        if lower in _ALB_SET or lower.startswith(_ALB_SET_PREFIXES):
            continue
        out.add(name, value)
    return out


def _response_headers(upstream: Connection | Tunnel, extra: Iterable[tuple[str, str]],
                      out: CIMultiDict[str], replace: Sequence[tuple[str, str]] = ()) -> None:
    """Fills `out`, the response's own headers (no intermediate multidict to copy); the
    `replace` fields (ALB's listener response-header attributes) replace the target's."""
    extra_hop = connection_tokens(upstream.connection)
    for name, value in upstream.headers:
        lower = name.lower()
        if lower in HOP_BY_HOP or lower == "content-length" or lower in extra_hop:
            continue
        out.add(name, value)
    for name, value in extra:
        out.add(name, value)
    for name, value in replace:
        out[name] = value


# ALB relays a target's response with the target's `Server` field, or none; aiohttp adds
# its own (`Python/3.x aiohttp/3.x`) to every response that has none, telling a scanner what
# runs here. There is no public switch for it: this drops the one aiohttp added, in the
# step where aiohttp adds it.
class _TargetStreamResponse(web.StreamResponse):
    async def _prepare_headers(self) -> None:
        from_target = hdrs.SERVER in self.headers
        await super()._prepare_headers()
        if not from_target:
            self.headers.popall(hdrs.SERVER, None)


class _TargetResponse(_TargetStreamResponse, web.Response):
    """A small response sent whole, with the same Server rule."""


def is_websocket_upgrade(request: web.BaseRequest) -> bool:
    """RFC 6455 4.1: a GET with `Upgrade: websocket` and `Connection: Upgrade`. Anything
    else is forwarded as plain HTTP, where Upgrade is hop-by-hop and dropped."""
    headers = request.headers
    return (request.method == "GET" and headers.get("Upgrade", "").lower() == "websocket"
            and "upgrade" in connection_tokens(headers.getall("Connection", ())))


class Forwarder:
    """Owns the pooled upstream client (albauth's own HTTP/1.1 client, `albauth.upstream`);
    one per process. WebSocket upgrades get a connection of their own, spliced after the 101."""

    def __init__(self, settings: ProxySettings) -> None:
        self.settings = settings
        self.upstream = UpstreamClient(connect_timeout=settings.connect_timeout,
                                       idle_timeout=settings.idle_timeout,
                                       verify_certificates=settings.verify_target_certificates)
        self._websockets: set[WebSocketRelay] = set()
        self._stopping = False

    async def close_websockets(self) -> None:
        """End every relayed WebSocket with 1001 Going Away (RFC 6455 7.4.1), and refuse new
        ones. They live for hours; left open, each would hold a graceful shutdown for its
        whole timeout."""
        self._stopping = True
        for relay in list(self._websockets):
            relay.going_away()

    async def close(self) -> None:
        self.upstream.close()

    async def forward(self, request: web.BaseRequest, target: URL, headers: CIMultiDict[str],
                      response_headers: Sequence[tuple[str, str]] = (), *,
                      path_qs: str | None = None,
                      replace_headers: Sequence[tuple[str, str]] = (),
                      on_unreachable: Callable[[], None] | None = None) -> web.StreamResponse:
        """`path_qs` is the request-target the target receives (path and `?query`): the one
        the rules matched, so that the rule and the target agree on the path. Without it,
        the request-target exactly as the client sent it."""
        origin = self.upstream.pool.origin(target)
        if path_qs is None:
            path_qs = request.raw_path
        record = record_of(request)
        if record is not None:  # the access log's target, trace id and timings
            record.note_target(f"{origin.host}:{origin.port}", headers.get("X-Amzn-Trace-Id"))
        if is_websocket_upgrade(request):
            return await self._websocket(request, origin, path_qs, headers, response_headers, replace_headers)
        body = request.content if request.body_exists else None
        if (body is not None and request.version >= (1, 1)  # HTTP/1.0 ignores it (RFC 9110 10.1.1)
                and request.headers.get("Expect", "").lower() == "100-continue"):
            # The client holds the body back until it hears this (RFC 9110 10.1.1); aiohttp's
            # low-level server leaves it to the handler. The expectation ends here.
            await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            headers.popall("Expect", None)
        try:
            upstream = await self.upstream.send(origin, request.method, path_qs, headers, body)
        except TargetTimeout as exc:
            log.warning("target %s timed out: %s", target, exc)
            return alb_error_response(504)
        except UpstreamError as exc:
            log.warning("target %s failed: %s: %s", target, exc.__class__.__name__, exc)
            if record is not None and isinstance(exc, TargetUnreachable):
                record.target_connect_failed = True
            if on_unreachable is not None and isinstance(exc, TargetUnreachable):
                on_unreachable()  # the picker skips it for a while (albauth.targets)
            return alb_error_response(502)
        except MalformedRequestHead:
            return alb_error_response(400)
        status, length = upstream.status, upstream.content_length
        if record is not None:
            record.note_target_response(status)
        no_body = request.method == "HEAD" or status in (204, 304)
        if no_body or (length is not None and length <= _SMALL_BODY):
            return await self._relay_whole(upstream, response_headers, no_body, replace_headers)
        try:
            return await self._relay_stream(request, upstream, response_headers, replace_headers)
        finally:
            self.upstream.release(upstream)

    async def _relay_whole(self, upstream: Connection, extra: Sequence[tuple[str, str]],
                           no_body: bool, replace: Sequence[tuple[str, str]] = ()) -> web.StreamResponse:
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
        resp = _TargetResponse(status=upstream.status, reason=upstream.reason, body=body)
        _response_headers(upstream, extra, resp.headers, replace)
        if no_body and upstream.content_length is not None:
            resp.headers["Content-Length"] = str(upstream.content_length)
        return resp

    async def _relay_stream(self, request: web.BaseRequest, upstream: Connection,
                            extra: Sequence[tuple[str, str]],
                            replace: Sequence[tuple[str, str]] = ()) -> web.StreamResponse:
        """Large or of unknown length: streamed, at the pace of the slower side."""
        resp = _TargetStreamResponse(status=upstream.status, reason=upstream.reason)
        _response_headers(upstream, extra, resp.headers, replace)
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

    async def _websocket(self, request: web.BaseRequest, origin: TargetOrigin, path_qs: str,
                         headers: CIMultiDict[str], response_headers: Sequence[tuple[str, str]],
                         replace: Sequence[tuple[str, str]] = ()) -> web.StreamResponse:
        if self._stopping:
            return alb_error_response(503)
        tunnel = await self._open_tunnel(origin, path_qs, headers)
        if isinstance(tunnel, web.StreamResponse):
            return tunnel
        record = record_of(request)
        if record is not None:
            record.note_target_response(tunnel.status)
        if tunnel.status != 101:
            # The target refused the upgrade: as before, ALB's page (its status when an error).
            tunnel.close()
            return alb_error_response(502 if tunnel.status < 400 else tunnel.status)
        resp = await _switch_protocols(request, tunnel, response_headers, replace)
        relay = WebSocketRelay(request, tunnel, self.settings.idle_timeout)
        self._websockets.add(relay)
        try:
            await relay.run()
        finally:
            self._websockets.discard(relay)
            relay.close()
        return resp

    async def _open_tunnel(self, origin: TargetOrigin, path_qs: str, headers: CIMultiDict[str]
                           ) -> Tunnel | web.StreamResponse:
        """The upgrade request sent and the target's answer read, or ALB's error page."""
        headers["Connection"] = "Upgrade"  # hop-by-hop: ours to the target, not the client's
        headers["Upgrade"] = "websocket"
        try:
            return await open_tunnel(origin, "GET", path_qs, headers, connect_timeout=self.settings.connect_timeout,
                                     idle_timeout=self.settings.idle_timeout)
        except TargetTimeout as exc:
            log.warning("target %s timed out: %s", origin.base, exc)
            return alb_error_response(504)
        except UpstreamError as exc:
            log.warning("target %s failed: %s: %s", origin.base, exc.__class__.__name__, exc)
            return alb_error_response(502)
        except MalformedRequestHead:
            return alb_error_response(400)


async def _switch_protocols(request: web.BaseRequest, tunnel: Tunnel, extra: Sequence[tuple[str, str]],
                            replace: Sequence[tuple[str, str]] = ()) -> web.StreamResponse:
    """The target's 101 to the client, with its end-to-end fields (Sec-WebSocket-Accept,
    the subprotocol and extensions it chose) and ours (Set-Cookie after a login)."""
    resp = _TargetStreamResponse(status=101, reason=tunnel.reason or None)
    _response_headers(tunnel, extra, resp.headers, replace)
    resp.headers["Connection"] = "Upgrade"
    resp.headers["Upgrade"] = next((v for k, v in tunnel.headers if k.lower() == "upgrade"), "websocket")
    resp.force_close()  # the connection is the tunnel's now: no keep-alive after it
    await resp.prepare(request)
    return resp
