"""The composition root: builds one albauth process from `Settings` (the forwarder, the
authenticate action and its key ring, the listeners, the admin listener), starts and stops
it. Each piece gets only what it uses; nothing else writes into the Runtime."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import aiohttp
from aiohttp import web

from albauth.clock import Clock, system_clock
from albauth.config.model import Settings
from albauth.contracts import Authenticator, BearerValidator
from albauth.listener import ListenerHandler
from albauth.ops.admin import build_admin_app
from albauth.ops.metrics import Metrics
from albauth.proxy import Forwarder
from albauth.server import SERVER_LIMITS, AlbServer, bound_port, display_host, ssl_context
from albauth.signing.keyring import KeyRing
from albauth.signing.shared_keys import SharedKeyRing
from albauth.targets import TargetPicker

__all__ = ["Runtime"]

log = logging.getLogger("albauth")


class Runtime:
    """Everything one albauth process runs; tests build one and start it on loopback.
    Build it inside the running event loop (it opens HTTP client pools)."""

    def __init__(self, settings: Settings, clock: Clock = system_clock) -> None:
        self.settings = settings
        self.clock = clock
        self.metrics = Metrics()
        self.forwarder = Forwarder(settings.proxy)
        self.keyring: KeyRing | SharedKeyRing | None = None
        self.urls: list[str] = []
        self._closers: list[Callable[[], Awaitable[None]]] = []
        self._runners: list[web.BaseRunner] = []
        self._servers: list[AlbServer] = []
        self._stopped = False
        authenticator: Authenticator | None = None
        if any(lst.has_authenticate for lst in settings.listeners):
            from albauth.auth.setup import build_authentication  # only what a config uses is loaded

            auth = build_authentication(settings, clock, self.metrics)
            authenticator, self.keyring = auth.action, auth.keys
            self._closers += auth.closers
        bearer = self._bearer_validator(settings, clock)
        picker = TargetPicker(settings.target_groups)
        self.handlers = [ListenerHandler(lst, forwarder=self.forwarder, picker=picker,
                                         authenticator=authenticator, proxy_settings=settings.proxy,
                                         bearer_validator=bearer)
                         for lst in settings.listeners]

    def _bearer_validator(self, settings: Settings, clock: Clock) -> BearerValidator | None:
        if not any(r.jwt_validation is not None for lst in settings.listeners for r in lst.rules):
            return None
        from albauth.auth.jwt_validation import JwtValidator  # only what a config uses is loaded

        http = aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar())  # JWKS fetches
        self._closers.append(http.close)
        return JwtValidator(http, clock)

    async def start(self) -> None:
        for handler in self.handlers:
            await self._start_listener(handler)
        if self.settings.admin_listen is not None:
            await self._start_admin(*self.settings.admin_listen)

    async def _start_listener(self, handler: ListenerHandler) -> None:
        lst = handler.listener
        proxy = self.settings.proxy
        # ALB's idle_timeout.timeout_seconds holds for client connections too (aiohttp's keep-alive).
        server = AlbServer(handler, max_connections=self.settings.max_connections, handler_cancellation=True,
                           client_keep_alive=proxy.client_keep_alive,
                           **{**SERVER_LIMITS, "keepalive_timeout": proxy.idle_timeout})
        runner = web.ServerRunner(server, shutdown_timeout=30)
        await runner.setup()
        site = web.TCPSite(runner, lst.address, lst.port, ssl_context=ssl_context(lst), reuse_address=True,
                           backlog=self.settings.listen_backlog)
        await site.start()
        self._runners.append(runner)
        self._servers.append(server)
        scheme = "https" if lst.protocol == "HTTPS" else "http"
        self.urls.append(f"{scheme}://{display_host(lst.address)}:{bound_port(site, lst.port)}")

    async def _start_admin(self, host: str, port: int) -> None:
        app = build_admin_app(self.metrics, lambda: self.urls, self.keyring)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        self._runners.append(runner)
        self.urls.append(f"http://{display_host(host)}:{bound_port(site, port)}")

    @property
    def refused_connections(self) -> int:
        """Connections closed at once because the process was at `max_connections`."""
        return sum(s.refused for s in self._servers)

    async def stop(self) -> None:
        """Idempotent: a second call does nothing."""
        if self._stopped:
            return
        self._stopped = True
        # Stop accepting, let in-flight requests finish (runner.cleanup waits), then close clients.
        # WebSockets never finish by themselves: they are told 1001 Going Away first.
        await self.forwarder.close_websockets()
        for runner in reversed(self._runners):
            await runner.cleanup()
        self._runners.clear()
        await self.forwarder.close()
        for close in self._closers:
            await close()
        self._closers.clear()
