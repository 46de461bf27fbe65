"""How one listener is served: aiohttp's low-level server with ALB's limits and error
pages, the listen backlog, a cap on concurrent connections, TLS."""

from __future__ import annotations

import asyncio
import logging
import re
import resource
import ssl
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, cast

from aiohttp import web
from aiohttp.http_exceptions import BadHttpMethod
from aiohttp.http_parser import HttpRequestParserPy
from aiohttp.web_protocol import MAX_MSG_QUEUE_SIZE, RequestPayloadError

from albauth.config.model import Listener
from albauth.error_pages import alb_error_response
from albauth.mtls import NO_CHECK_TIME
from albauth.ops.request_record import RECORD, RequestRecord

__all__ = ["SERVER_LIMITS", "AlbServer", "HandlerSlot", "InFlight", "bound_port", "display_host", "install_uvloop",
           "raise_open_files_limit", "ssl_context"]

log = logging.getLogger("albauth")

# ALB's request limits (spec 6.1): request line and single header up to 16K.
SERVER_LIMITS: dict[str, Any] = {
    "max_line_size": 16 * 1024,
    "max_field_size": 16 * 1024,
    "max_headers": 256,
    "auto_decompress": False,  # a proxy passes request bodies on as they came
    "keepalive_timeout": 60,  # ALB's client idle timeout
    "access_log": None,
}


# ALB routes custom methods (spec 7.2: `http-request-method` takes names of A-Z, `-`, `_`).
_CUSTOM_METHOD = re.compile(rb"[A-Z_-]{1,40} ")


class _MethodTolerantParser:
    """llhttp (aiohttp's C parser) refuses methods it does not know before any rule runs.
    The common case keeps it; a connection whose request starts with a custom method name
    switches to aiohttp's Python parser, which accepts any token, for the rest of its life."""

    def __init__(self, fast: Any, make_slow: Callable[[], Any]) -> None:
        self._current = fast
        self._make_slow = make_slow
        self._switched = False

    def feed_data(self, data: bytes) -> Any:
        try:
            return self._current.feed_data(data)
        except BadHttpMethod:
            # Only at the start of a message (the chunk begins with the method), so nothing
            # the fast parser consumed is lost.
            if self._switched or not _CUSTOM_METHOD.match(data):
                raise
            self._current, self._switched = self._make_slow(), True
            return self._current.feed_data(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._current, name)


class _AlbRequestHandler(web.RequestHandler):
    """One client connection. Past the process's connection cap a new connection is
    closed at once, so the established ones keep their file descriptors and buffers."""

    def __init__(self, manager: web.Server, *, loop: asyncio.AbstractEventLoop, **kwargs: Any) -> None:
        super().__init__(manager, loop=loop, **kwargs)
        limits = {k: kwargs[k] for k in ("max_line_size", "max_field_size", "max_headers") if k in kwargs}

        def python_parser() -> Any:
            return HttpRequestParserPy(self, loop, kwargs.get("read_bufsize", 2**16), **limits,
                                       payload_exception=RequestPayloadError,
                                       auto_decompress=kwargs.get("auto_decompress", True),
                                       max_msg_queue_size=MAX_MSG_QUEUE_SIZE)

        if not isinstance(self._parser, HttpRequestParserPy):  # the C parser is installed
            self._parser = cast(Any, _MethodTolerantParser(self._parser, python_parser))

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        manager = self._manager
        # ALB's client_keep_alive.seconds, checked after each response (HandlerSlot).
        keep_alive = manager.client_keep_alive if isinstance(manager, AlbServer) else None
        self.close_at = None if keep_alive is None else self._loop.time() + keep_alive
        if isinstance(manager, AlbServer) and len(manager.connections) >= manager.max_connections:
            manager.refused += 1
            cast(asyncio.Transport, transport).abort()
            self._manager = None  # never registered: connection_lost has nothing to undo
            return
        if isinstance(manager, AlbServer):
            manager.accepted += 1  # ALB's NewConnectionCount
        super().connection_made(transport)

    def handle_error(self, request: web.BaseRequest, status: int = 500, exc: BaseException | None = None,
                     message: str | None = None) -> web.StreamResponse:
        """Requests aiohttp refuses before our handler runs (a header over 16K, a bad
        request line) get ALB's error page with `Server: awselb/2.0`. Only the status and
        the error's class are logged: aiohttp's message quotes the offending header line,
        which may be a session cookie."""
        log.info("refused a request with %d (%s)", status, type(exc).__name__ if exc else "error")
        if request.writer.output_size > 0:  # a response has started: the connection is broken
            raise ConnectionError("response already sent, cannot send the error page")
        resp = alb_error_response(status)
        resp.force_close()
        return resp


class InFlight(Protocol):
    """Counts the requests a handler serves (a configuration generation, so a reload
    can close what the old one owns once its last request is done)."""

    def started(self) -> None: ...

    def finished(self) -> None: ...


class HandlerSlot:
    """A listener's request handler, replaceable while serving: a reload swaps `handler`
    and its `inflight` counter together, and a request in flight finishes with the ones it
    started with. Each request gets the record its access-log line and metrics are made
    from. One coroutine does all of this, because every frame between aiohttp and the
    listener is resumed at each await of every request."""

    __slots__ = ("handler", "inflight")

    def __init__(self, handler: Callable[[web.BaseRequest], Awaitable[web.StreamResponse]],
                 inflight: InFlight) -> None:
        self.handler = handler
        self.inflight = inflight

    def replace(self, handler: Callable[[web.BaseRequest], Awaitable[web.StreamResponse]],
                inflight: InFlight) -> None:
        self.handler, self.inflight = handler, inflight

    async def __call__(self, request: web.BaseRequest) -> web.StreamResponse:
        request[RECORD] = RequestRecord()
        inflight = self.inflight
        inflight.started()
        try:
            resp = await self.handler(request)
        finally:
            inflight.finished()
        # ALB's client_keep_alive.seconds: a client connection older than this is closed
        # after the response in progress (`Connection: close`), however busy it is.
        close_at = getattr(request.protocol, "close_at", None)
        if close_at is not None and asyncio.get_running_loop().time() >= close_at:
            resp.force_close()
        return resp


class AlbServer(web.Server):
    def __init__(self, handler: Any, *, max_connections: int, client_keep_alive: float | None = None,
                 **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self.client_keep_alive = client_keep_alive
        self.max_connections = max_connections
        self.refused = 0
        self.accepted = 0

    def __call__(self) -> web.RequestHandler:
        return _AlbRequestHandler(self, loop=self._loop, **self._kwargs)


def ssl_context(lst: Listener) -> ssl.SSLContext | None:
    if lst.protocol != "HTTPS":
        return None
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    assert lst.certificate_file and lst.key_file
    ctx.load_cert_chain(lst.certificate_file, lst.key_file)
    ctx.set_alpn_protocols(["http/1.1"])
    if lst.mutual_tls is not None:
        # ALB's mTLS verify: the handshake fails without a certificate the trust store vouches for.
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(lst.mutual_tls.trust_store_file)
        if lst.mutual_tls.ignore_client_certificate_expiry:
            ctx.verify_flags |= NO_CHECK_TIME
    return ctx


def bound_port(site: web.TCPSite, configured: int) -> int:
    # aiohttp exposes no public accessor for the port a site bound to.
    sockets = getattr(site._server, "sockets", None)
    if configured == 0 and sockets:
        return int(sockets[0].getsockname()[1])
    return configured


def display_host(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "") else (f"[{host}]" if ":" in host else host)


def raise_open_files_limit() -> int:
    """Every connection holds a descriptor (two when proxied): lift the soft limit to the
    hard one, as nginx's worker_rlimit_nofile would. Returns the limit in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            return hard
        except (ValueError, OSError) as exc:
            log.warning("could not raise the open-files limit from %d to %d: %s", soft, hard, exc)
    return soft


def install_uvloop() -> bool:
    """uvloop makes the event loop markedly faster; used when installed (the `speed` extra)."""
    try:
        import uvloop
    except ImportError:
        return False
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return True
