"""Builds the authenticate action from the settings: session store, login-state sealing,
signing keys and one OIDC client per (cookie name, issuer, client id) binding. Called by
the composition root (albauth.app), which owns what is returned."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import aiohttp

from albauth.auth.action import AuthenticateAction
from albauth.auth.headers import IdentityHeaders
from albauth.auth.oidc_client import OidcClient
from albauth.auth.provider_network import EnvProxies, provider_session
from albauth.auth.refresh import LocalRefresh, RedisRefresh, RefreshCoordinator, SingleFlightRefresher
from albauth.auth.state import StateCodec
from albauth.clock import Clock
from albauth.config.model import AuthenticateConfig, SessionSettings, Settings, SigningSettings
from albauth.ops.metrics import Metrics
from albauth.ops.timed_store import TimedStore
from albauth.session.factory import BuiltStore, build_store
from albauth.session.model import binding_for
from albauth.session.sealing import Sealer, generate_secret
from albauth.signing.albjwt import AlbJwtSigner, default_signer_arn
from albauth.signing.keyring import KeyRing
from albauth.signing.shared_keys import SharedKeyRing, key_sealer

if TYPE_CHECKING:  # only a type here: redis-py is imported when the store is Redis
    from albauth.session.redis_store import RedisSessionStore

__all__ = ["Authentication", "SessionBackend", "build_authentication", "refresh_coordinator", "session_backend",
           "session_secrets", "signer_arn"]

log = logging.getLogger("albauth.auth")

Closer = Callable[[], Awaitable[None]]


@dataclass(frozen=True)
class SessionBackend:
    """The session store and the secrets sessions and login states are sealed with. A
    reload keeps it while `albauth.session` is unchanged, so sessions and logins under way
    survive the reload (a memory store keeps its sessions, a random secret stays)."""

    settings: SessionSettings
    secrets: tuple[str, ...]
    built: BuiltStore


@dataclass(frozen=True)
class Authentication:
    action: AuthenticateAction
    keys: KeyRing | SharedKeyRing  # what the admin listener's key endpoint serves
    closers: tuple[Closer, ...]  # the store's close among them only when it was built here
    backend: SessionBackend
    clients: tuple[OidcClient, ...]  # one per binding (readiness checks their discovery)


def session_secrets(settings: SessionSettings) -> tuple[str, ...]:
    if settings.secrets:
        return settings.secrets
    log.warning("no session secret configured (ALBAUTH_SESSION_SECRET): using a random one; "
                "sessions will not survive a restart and replicas will not share them")
    return (generate_secret(),)


def signer_arn(settings: SigningSettings) -> str:
    return settings.signer_arn or default_signer_arn(settings.region, settings.account)


def refresh_coordinator(redis: RedisSessionStore | None, configs: list[AuthenticateConfig]) -> RefreshCoordinator:
    """One refresh per session across replicas when they share a Redis store."""
    if redis is None:
        return LocalRefresh()
    # The winner's refresh is a token call and a UserInfo call, each bounded by the IdP
    # timeout, then a save: waiters wait no longer (its lock is a short lease it renews).
    timeout = max((cfg.idp_timeout for cfg in configs), default=10.0)
    return RedisRefresh(redis, wait=2 * timeout + 2.0)


def session_backend(settings: SessionSettings, clock: Clock, metrics: Metrics) -> SessionBackend:
    secrets = session_secrets(settings)
    built = build_store(settings, secrets, clock)
    return SessionBackend(settings, secrets, BuiltStore(TimedStore(built.store, metrics), built.redis))


def build_authentication(settings: Settings, clock: Clock, metrics: Metrics,
                         backend: SessionBackend | None = None) -> Authentication:
    """Must run inside the event loop: it opens the provider's HTTP client pool. With
    `backend`, its store is used (and left open by the closers)."""
    owns_store = backend is None
    backend = backend or session_backend(settings.session, clock, metrics)
    secrets, built = backend.secrets, backend.built
    configs = [r.authenticate for lst in settings.listeners for r in lst.rules if r.authenticate is not None]
    closers: list[Closer] = []
    keys, headers, awaited = _signing(settings.signing, built.redis, secrets, clock, closers)
    idp_http, proxies = provider_session(settings.ca_file)
    clients: dict[str, OidcClient] = {}
    for cfg in configs:
        binding = binding_for(cfg.session_cookie_name, cfg.issuer, cfg.client_id)
        if binding not in clients:
            clients[binding] = _client_for(cfg, idp_http, clock, proxies)
    refresher = SingleFlightRefresher(clock, refresh_coordinator(built.redis, configs))
    action = AuthenticateAction(store=built.store, states=StateCodec(Sealer(secrets, "albauth login state")),
                                headers=headers, clients=clients, metrics=metrics, clock=clock,
                                refresher=refresher, keys=awaited,
                                expose_error_reason=settings.proxy.expose_error_reason)
    for cfg in configs:
        action.register(cfg)
    closers += [refresher.close, idp_http.close]
    if owns_store:
        closers.append(built.store.close)
    return Authentication(action, keys, tuple(closers), backend, tuple(clients.values()))


def _signing(settings: SigningSettings, redis: RedisSessionStore | None, secrets: tuple[str, ...],
             clock: Clock, closers: list[Closer]
             ) -> tuple[KeyRing | SharedKeyRing, IdentityHeaders, SharedKeyRing | None]:
    """The key ring, the signer of x-amzn-oidc-data, and the ring the action awaits before
    signing (a shared one, loaded from Redis). Replicas sharing a Redis store
    share its signing keys too, unless a key file is configured (it wins; Redis then holds
    no keys)."""
    def make_signer(ring: KeyRing) -> AlbJwtSigner:
        return AlbJwtSigner(ring, signer_arn=signer_arn(settings), encoding=settings.encoding,
                            lifetime=settings.lifetime)

    if settings.key_file or redis is None:
        ring = _local_keyring(settings)
        return ring, IdentityHeaders(make_signer(ring), clock, reuse_seconds=settings.reuse_seconds), None
    shared = SharedKeyRing(redis, key_sealer(secrets))
    # The shared ring is loaded from Redis in the loop: until then (the action awaits it
    # before signing) the signer holds a throwaway key that never signs anything.
    headers = IdentityHeaders(make_signer(KeyRing.generate()), clock, reuse_seconds=settings.reuse_seconds)

    def swap(ring: KeyRing) -> None:
        headers.signer = make_signer(ring)

    shared.on_change = swap
    _start_soon(shared)
    closers.append(shared.close)
    return shared, headers, shared


def _local_keyring(settings: SigningSettings) -> KeyRing:
    if settings.key_file:
        return KeyRing.load_or_create(settings.key_file)
    log.info("no signing key file configured (ALBAUTH_SIGNING_KEY_FILE): x-amzn-oidc-data is signed "
             "with a key generated for this process")
    return KeyRing.generate()


def _start_soon(shared: SharedKeyRing) -> None:
    # Load the ring as soon as the loop runs, so the key endpoint serves it before the first
    # login; without a running loop, the first authenticated request loads it.
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    shared.start()


def _client_for(cfg: AuthenticateConfig, http: aiohttp.ClientSession, clock: Clock,
                proxies: EnvProxies) -> OidcClient:
    return OidcClient(http, issuer=cfg.issuer, client_id=cfg.client_id, client_secret=cfg.client_secret,
                      client_auth=cfg.client_auth, authorization_endpoint=cfg.authorization_endpoint,
                      token_endpoint=cfg.token_endpoint, userinfo_endpoint=cfg.userinfo_endpoint,
                      jwks_uri=cfg.jwks_uri, timeout=cfg.idp_timeout, clock=clock, proxies=proxies)
