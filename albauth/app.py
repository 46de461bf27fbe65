"""The composition root: builds one albauth process from `Settings` (the forwarder, the
authenticate action and its key ring, the listeners, the admin listener), starts, reloads
and stops it. Each piece gets only what it uses; nothing else writes into the Runtime.

A reload builds a new generation (rules, target groups, authenticate actions, signing
keys) beside the running one and swaps each listener's handler: requests in flight finish
with the generation they started with, whose resources are closed once the last of them is
done. What a generation cannot change (listening sockets, proxy timeouts, the admin
listener) takes effect at the next restart; albauth.ops.reload says so in the log."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING

import aiohttp
from aiohttp import web

from albauth.auth.provider_network import provider_session
from albauth.clock import Clock, system_clock
from albauth.config.model import Settings
from albauth.contracts import Authenticator, BearerValidator
from albauth.listener import ListenerHandler
from albauth.ops.admin import build_admin_app
from albauth.ops.config_changes import refused_changes, restart_only_changes
from albauth.ops.health import Check, Readiness
from albauth.ops.log_sink import LineSink
from albauth.ops.metrics import ConnectionStats, Metrics
from albauth.ops.request_observer import AccessLog, ListenerObserver, ObserverHook
from albauth.proxy import Forwarder
from albauth.server import SERVER_LIMITS, AlbServer, HandlerSlot, bound_port, display_host, ssl_context
from albauth.signing.keyring import KeyRing
from albauth.signing.shared_keys import SharedKeyRing
from albauth.targets import TargetPicker

if TYPE_CHECKING:  # the same layer: auth.setup is loaded only when a config authenticates
    from albauth.auth.oidc_client import OidcClient
    from albauth.auth.setup import Authentication, SessionBackend

__all__ = ["Generation", "Runtime", "access_log_for"]

log = logging.getLogger("albauth")

Closer = Callable[[], Awaitable[None]]


def access_log_for(settings: Settings) -> AccessLog | None:
    cfg = settings.access_log
    return None if cfg.format == "off" else AccessLog(cfg.format, LineSink(cfg.file), cfg.elb)


class Generation:
    """One loaded configuration's handlers and what they own; counts requests in flight."""

    def __init__(self, number: int, settings: Settings, handlers: list[ListenerHandler],
                 auth: Authentication | None) -> None:
        self.number = number
        self.settings = settings
        self.handlers = handlers
        self.auth = auth
        self.inflight = 0
        self.retired = False
        self.drained = asyncio.Event()  # set once retired and no request is in flight

    def retire(self) -> None:
        self.retired = True
        if self.inflight == 0:
            self.drained.set()

    def started(self) -> None:
        self.inflight += 1

    def finished(self) -> None:
        self.inflight -= 1
        if self.inflight == 0 and self.retired:
            self.drained.set()


class Runtime:
    """Everything one albauth process runs; tests build one and start it on loopback.
    Build it inside the running event loop (it opens HTTP client pools)."""

    def __init__(self, settings: Settings, clock: Clock = system_clock,
                 access_log: AccessLog | None = None, *, reuse_port: bool = False) -> None:
        self.reuse_port = reuse_port  # worker processes share the listener ports (albauth.workers)
        self.clock = clock
        self.metrics = Metrics()
        self.forwarder = Forwarder(settings.proxy)
        self.access_log = access_log if access_log is not None else access_log_for(settings)
        self.urls: list[str] = []
        self._runners: list[web.BaseRunner] = []
        self._servers: list[AlbServer] = []
        self._slots: list[HandlerSlot] = []
        self._draining: set[asyncio.Task[None]] = set()
        self._stopped = False
        self._bearer: BearerValidator | None = None
        self._jwks_http: aiohttp.ClientSession | None = None
        self.generation = self.build(settings, 1)
        self.metrics.config_generation.set(1)
        self.metrics.watch_connections(self._connection_stats)
        self.readiness = Readiness(self._checks, lambda: self.generation.number)

    @property
    def settings(self) -> Settings:
        return self.generation.settings

    @property
    def keyring(self) -> KeyRing | SharedKeyRing | None:
        auth = self.generation.auth
        return auth.keys if auth is not None else None

    @property
    def handlers(self) -> list[ListenerHandler]:
        return self.generation.handlers

    def build(self, settings: Settings, number: int, backend: SessionBackend | None = None) -> Generation:
        """A generation for `settings`; `backend`: the session store and secrets to keep."""
        authenticator: Authenticator | None = None
        auth: Authentication | None = None
        if any(lst.has_authenticate for lst in settings.listeners):
            from albauth.auth.setup import build_authentication, session_backend  # loaded only when used

            # The Runtime owns the store (kept across reloads), so it is always passed in.
            backend = backend or session_backend(settings.session, self.clock, self.metrics)
            auth = build_authentication(settings, self.clock, self.metrics, backend)
            authenticator = auth.action
        picker = TargetPicker(settings.target_groups)
        bearer = self._bearer_validator(settings)
        handlers = [ListenerHandler(lst, forwarder=self.forwarder, picker=picker,
                                    authenticator=authenticator, proxy_settings=settings.proxy,
                                    bearer_validator=bearer, forward_auth=settings.forward_auth)
                    for lst in settings.listeners]
        return Generation(number, settings, handlers, auth)

    def _bearer_validator(self, settings: Settings) -> BearerValidator | None:
        """One validator for the process (its JWKS cache outlives reloads), made when a
        configuration first has a jwt-validation rule."""
        if not any(r.jwt_validation is not None for lst in settings.listeners for r in lst.rules):
            return None
        if self._bearer is None:
            from albauth.auth.jwt_validation import JwtValidator  # only what a config uses is loaded

            # JWKS endpoints are reached as providers are: albauth.ca_file, the outbound proxy.
            self._jwks_http, proxies = provider_session(settings.ca_file)
            self._bearer = JwtValidator(self._jwks_http, self.clock, proxies=proxies)
        return self._bearer

    async def start(self) -> None:
        for handler in self.generation.handlers:
            await self._start_listener(handler)
        if self.settings.admin_listen is not None:
            await self._start_admin(*self.settings.admin_listen)

    async def _start_listener(self, handler: ListenerHandler) -> None:
        lst = handler.listener
        proxy = self.settings.proxy
        slot = HandlerSlot(handler, self.generation)
        observer = ListenerObserver(self.metrics, lst.port, lst.protocol == "HTTPS", self.access_log)
        # ALB's idle_timeout.timeout_seconds holds for client connections too (aiohttp's keep-alive).
        limits = {**SERVER_LIMITS, "keepalive_timeout": proxy.idle_timeout, "access_log_class": ObserverHook,
                  "access_log": observer}
        server = AlbServer(slot, max_connections=self.settings.max_connections, handler_cancellation=True,
                           client_keep_alive=proxy.client_keep_alive, **limits)
        runner = web.ServerRunner(server, shutdown_timeout=30)
        await runner.setup()
        site = web.TCPSite(runner, lst.address, lst.port, ssl_context=ssl_context(lst), reuse_address=True,
                           reuse_port=self.reuse_port or None, backlog=self.settings.listen_backlog)
        await site.start()
        self._runners.append(runner)
        self._servers.append(server)
        self._slots.append(slot)
        scheme = "https" if lst.protocol == "HTTPS" else "http"
        self.urls.append(f"{scheme}://{display_host(lst.address)}:{bound_port(site, lst.port)}")

    async def _start_admin(self, host: str, port: int) -> None:
        app = build_admin_app(self.metrics, lambda: self.urls, _CurrentKeys(self), self.readiness)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        self._runners.append(runner)
        self.urls.append(f"http://{display_host(host)}:{bound_port(site, port)}")

    def reload(self, settings: Settings) -> list[str]:
        """Serve `settings` from now on. Returns the problems that kept it from being
        applied (then nothing changed); a reload that fails leaves the running
        configuration as it was."""
        refused = refused_changes(self.settings, settings)
        if refused:
            return refused
        for name in restart_only_changes(self.settings, settings):
            log.warning("reload: %s changed; it applies when albauth restarts", name)
        old = self.generation.auth
        backend = old.backend if old is not None and old.backend.settings == settings.session else None
        try:
            new = self.build(settings, self.generation.number + 1, backend)
        except Exception as exc:  # noqa: BLE001 - any failure to build keeps the old configuration
            return [f"{type(exc).__name__}: {exc}"]
        self.swap(new)
        return []

    def swap(self, new: Generation) -> None:
        """Serve `new` from now on; the old generation closes once its requests are done.
        The caller checked that `new` has the same listeners, in the same order."""
        old, self.generation = self.generation, new
        for slot, handler in zip(self._slots, new.handlers, strict=True):
            slot.replace(handler, new)
        self.metrics.config_generation.set(new.number)
        task = asyncio.get_running_loop().create_task(self._close_when_drained(old, keep=new))
        self._draining.add(task)
        task.add_done_callback(self._draining.discard)

    async def _close_when_drained(self, old: Generation, keep: Generation) -> None:
        old.retire()
        await old.drained.wait()
        if old.auth is not None:
            await _close_all(old.auth.closers)
            kept = keep.auth is not None and keep.auth.backend is old.auth.backend
            if not kept:
                await old.auth.backend.built.store.close()

    def _checks(self) -> Sequence[Check]:
        return readiness_checks(self.generation.auth)

    def _connection_stats(self) -> list[ConnectionStats]:
        return [ConnectionStats(str(lst.port), len(s.connections), s.accepted, s.refused)
                for lst, s in zip(self.settings.listeners, self._servers, strict=False)]

    def reopen_logs(self) -> None:
        """SIGUSR1: logrotate moved the access log away."""
        if self.access_log is not None:
            self.access_log.sink.reopen()

    @property
    def requests_served(self) -> int:
        return sum(s.requests_count for s in self._servers)

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
        await asyncio.gather(*self._draining, return_exceptions=True)
        await self.forwarder.close()
        auth = self.generation.auth
        if auth is not None:
            await _close_all(auth.closers)
            await auth.backend.built.store.close()
        if self._jwks_http is not None:
            await self._jwks_http.close()
        if self.access_log is not None:
            self.access_log.sink.close()


def readiness_checks(auth: Authentication | None) -> list[Check]:
    """What /readyz checks: the configuration (loaded, or the process would not run),
    the signing keys, each provider's metadata (fetched once when discovery is used,
    cached after), Redis when it is the store."""
    async def loaded() -> None:
        return None

    checks: list[Check] = [("config", loaded)]
    if auth is None:
        return checks
    keys = auth.keys

    async def signing_keys() -> None:
        if isinstance(keys, SharedKeyRing):
            await keys.ready()  # loads from Redis when not loaded yet
        keys.current  # noqa: B018 - raises KeyRingError when there is no key

    checks.append(("signing_keys", signing_keys))
    checks += [(f"provider {client.issuer}", _metadata_check(client)) for client in auth.clients]
    redis = auth.backend.built.redis
    if redis is not None:
        checks.append(("redis", lambda: redis.execute(lambda r: r.ping())))
    return checks


def _metadata_check(client: OidcClient) -> Callable[[], Awaitable[None]]:
    async def check() -> None:
        await client.metadata()  # fetches the discovery document until it has it once
        if not client.metadata_loaded:
            raise ConnectionError(f"no discovery document from {client.issuer} yet")
    return check


async def _close_all(closers: Sequence[Closer]) -> None:
    for close in closers:
        await close()


class _CurrentKeys:
    """The key endpoint serves the current generation's ring (a reload may load new keys)."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def jwks(self) -> dict[str, object]:
        ring = self.runtime.keyring
        return ring.jwks() if ring is not None else {"keys": []}

    def public_pem(self, kid: str) -> bytes | None:
        ring = self.runtime.keyring
        return ring.public_pem(kid) if ring is not None else None
