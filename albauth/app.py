"""Builds the running server from `Settings`: the listeners, the shared forwarder, the
authenticate action and the admin listener; starts and stops them."""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from albauth.clock import Clock, system_clock
from albauth.config.model import Listener, Settings
from albauth.contracts import Authenticator
from albauth.error_pages import alb_error_response
from albauth.listener import ListenerHandler
from albauth.ops.metrics import Metrics
from albauth.proxy import Forwarder
from albauth.targets import TargetPicker

log = logging.getLogger("albauth")

# ALB's request limits (spec 6.1): request line and single header up to 16K.
_SERVER_LIMITS: dict[str, Any] = {
    "max_line_size": 16 * 1024,
    "max_field_size": 16 * 1024,
    "max_headers": 256,
    "auto_decompress": False,  # a proxy passes request bodies on as they came
    "keepalive_timeout": 60,  # ALB's client idle timeout
    "access_log": None,
}

class _AlbRequestHandler(web.RequestHandler):
    """Requests aiohttp refuses before our handler runs (a header over 16K, a bad request
    line) get ALB's error page with `Server: awselb/2.0`, not aiohttp's plain-text one."""

    def handle_error(self, request: web.BaseRequest, status: int = 500, exc: BaseException | None = None,
                     message: str | None = None) -> web.StreamResponse:
        super().handle_error(request, status, exc, message)  # logs; raises if a response has started
        resp = alb_error_response(status)
        resp.force_close()
        return resp


class _AlbServer(web.Server):
    def __call__(self) -> web.RequestHandler:
        return _AlbRequestHandler(self, loop=self._loop, **self._kwargs)


@dataclass
class Runtime:
    """Everything one albauth process runs; tests build one and start it on loopback."""

    settings: Settings
    clock: Clock = system_clock
    forwarder: Forwarder = field(init=False)
    metrics: Metrics = field(default_factory=Metrics)
    keyring: Any = None  # albauth.signing.KeyRing once an authenticate action needs one
    authenticator: Authenticator | None = None
    handlers: list[ListenerHandler] = field(default_factory=list)
    runners: list[web.BaseRunner] = field(default_factory=list)
    admin_app: web.Application | None = None
    closers: list[Callable[[], Any]] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.forwarder = Forwarder(self.settings.proxy)
        picker = TargetPicker(self.settings.target_groups)
        if any(lst.has_authenticate for lst in self.settings.listeners):
            from albauth.auth.setup import build_authenticator

            self.authenticator = build_authenticator(self)
        for lst in self.settings.listeners:
            self.handlers.append(ListenerHandler(lst, forwarder=self.forwarder, picker=picker,
                                                 authenticator=self.authenticator,
                                                 proxy_settings=self.settings.proxy))

    async def start(self) -> None:
        for handler in self.handlers:
            await self._start_listener(handler)
        if self.settings.admin_listen is not None:
            from albauth.ops.admin import build_admin_app

            self.admin_app = build_admin_app(self)
            runner = web.AppRunner(self.admin_app, access_log=None)
            await runner.setup()
            host, port = self.settings.admin_listen
            site = web.TCPSite(runner, host, port)
            await site.start()
            self.runners.append(runner)
            self.urls.append(f"http://{_display_host(host)}:{_bound_port(site, port)}")

    async def _start_listener(self, handler: ListenerHandler) -> None:
        lst = handler.listener
        server = _AlbServer(handler, handler_cancellation=True, **_SERVER_LIMITS)
        runner = web.ServerRunner(server, shutdown_timeout=30)
        await runner.setup()
        site = web.TCPSite(runner, lst.address, lst.port, ssl_context=_ssl_context(lst),
                           reuse_address=True)
        await site.start()
        self.runners.append(runner)
        scheme = "https" if lst.protocol == "HTTPS" else "http"
        self.urls.append(f"{scheme}://{_display_host(lst.address)}:{_bound_port(site, lst.port)}")

    async def stop(self) -> None:
        # Stop accepting, let in-flight requests finish (runner.cleanup waits), then close clients.
        # WebSockets never finish by themselves: they are told 1001 Going Away first.
        await self.forwarder.close_websockets()
        for runner in reversed(self.runners):
            await runner.cleanup()
        self.runners.clear()
        await self.forwarder.close()
        for close in self.closers:
            result = close()
            if asyncio.iscoroutine(result):
                await result


def _ssl_context(lst: Listener) -> ssl.SSLContext | None:
    if lst.protocol != "HTTPS":
        return None
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    assert lst.certificate_file and lst.key_file
    ctx.load_cert_chain(lst.certificate_file, lst.key_file)
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


def _bound_port(site: web.TCPSite, configured: int) -> int:
    # aiohttp exposes no public accessor for the port a site bound to.
    sockets = getattr(site._server, "sockets", None)
    if configured == 0 and sockets:
        return int(sockets[0].getsockname()[1])
    return configured


def _display_host(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "") else (f"[{host}]" if ":" in host else host)


def install_uvloop() -> bool:
    """uvloop makes the event loop markedly faster; used when installed (the `speed` extra)."""
    try:
        import uvloop
    except ImportError:
        return False
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return True
