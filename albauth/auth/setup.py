"""Wires the authenticate action for a Runtime: session store, login-state sealing,
signing keys and one OIDC client per (cookie name, issuer, client id) binding."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import aiohttp

from albauth.auth.action import AuthenticateAction
from albauth.auth.headers import IdentityHeaders
from albauth.auth.oidc_client import OidcClient
from albauth.auth.refresh import LocalRefresh, RedisRefresh, RefreshCoordinator, SingleFlightRefresher
from albauth.auth.state import StateCodec
from albauth.config.model import AuthenticateConfig, SessionSettings, SigningSettings
from albauth.session.cookie_store import CookieSessionStore
from albauth.session.memory_store import MemorySessionStore
from albauth.session.model import binding_for
from albauth.session.sealing import Sealer, generate_secret
from albauth.session.store import SessionStore
from albauth.signing.albjwt import AlbJwtSigner, default_signer_arn
from albauth.signing.keyring import KeyRing

if TYPE_CHECKING:
    from albauth.app import Runtime
    from albauth.clock import Clock
    from albauth.signing.shared_keys import SharedKeyRing

log = logging.getLogger("albauth.auth")


def session_secrets(settings: SessionSettings) -> tuple[str, ...]:
    if settings.secrets:
        return settings.secrets
    log.warning("no session secret configured (ALBAUTH_SESSION_SECRET): using a random one; "
                "sessions will not survive a restart and replicas will not share them")
    return (generate_secret(),)


def build_store(settings: SessionSettings, secrets: tuple[str, ...], clock: Clock) -> SessionStore:
    sealer = Sealer(secrets, "albauth session")
    if settings.store == "memory":
        return MemorySessionStore(sealer, clock)
    if settings.store == "redis":
        from albauth.session.redis_store import RedisSessionStore

        assert settings.redis_url
        return RedisSessionStore.from_url(settings.redis_url, sealer=sealer, clock=clock,
                                          key_prefix=settings.key_prefix)
    return CookieSessionStore(sealer)


def build_keyring(settings: SigningSettings) -> KeyRing:
    if settings.key_file:
        return KeyRing.load_or_create(settings.key_file)
    log.info("no signing key file configured (ALBAUTH_SIGNING_KEY_FILE): x-amzn-oidc-data is signed "
             "with a key generated for this process")
    return KeyRing.generate()


def _shares_keys(settings: SigningSettings, store: SessionStore) -> bool:
    """Replicas sharing a Redis store share its signing keys too, unless a key file is
    configured (it wins; Redis then holds no keys)."""
    from albauth.session.redis_store import RedisSessionStore

    return not settings.key_file and isinstance(store, RedisSessionStore)


def _shared_keyring(store: SessionStore, secrets: tuple[str, ...]) -> SharedKeyRing:
    from albauth.signing.shared_keys import SharedKeyRing, key_sealer

    return SharedKeyRing(store, key_sealer(secrets))  # type: ignore[arg-type]


def _start_soon(shared: SharedKeyRing) -> None:
    # Load the ring as soon as the loop runs, so the key endpoint serves it before the first
    # login; without a running loop, the first authenticated request loads it.
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    shared.start()


def refresh_coordinator(store: SessionStore, configs: list[AuthenticateConfig]) -> RefreshCoordinator:
    """One refresh per session across replicas when they share a Redis store."""
    from albauth.session.redis_store import RedisSessionStore

    if not isinstance(store, RedisSessionStore):
        return LocalRefresh()
    # The winner's refresh is a token call and a UserInfo call, each bounded by the IdP
    # timeout, then a save: waiters wait no longer (its lock is a short lease it renews).
    timeout = max((cfg.idp_timeout for cfg in configs), default=10.0)
    return RedisRefresh(store, wait=2 * timeout + 2.0)


def signer_arn(settings: SigningSettings) -> str:
    return settings.signer_arn or default_signer_arn(settings.region, settings.account)


def build_authenticator(runtime: Runtime) -> AuthenticateAction:
    settings = runtime.settings
    secrets = session_secrets(settings.session)
    store = build_store(settings.session, secrets, runtime.clock)
    configs = [r.authenticate for lst in settings.listeners for r in lst.rules if r.authenticate is not None]
    shared = None
    if runtime.keyring is None and _shares_keys(settings.signing, store):
        shared = _shared_keyring(store, secrets)
        runtime.keyring = shared
    elif runtime.keyring is None:
        runtime.keyring = build_keyring(settings.signing)

    def make_signer(ring: KeyRing) -> AlbJwtSigner:
        return AlbJwtSigner(ring, signer_arn=signer_arn(settings.signing),
                            encoding=settings.signing.encoding, lifetime=settings.signing.lifetime)

    # A shared ring is loaded from Redis in the loop: until then (the action awaits it before
    # signing) the signer holds a throwaway key that never signs anything.
    first = KeyRing.generate() if shared is not None else runtime.keyring
    headers = IdentityHeaders(make_signer(first), runtime.clock,
                              reuse_seconds=settings.signing.reuse_seconds)
    if shared is not None:
        def swap(ring: KeyRing) -> None:
            headers.signer = make_signer(ring)

        shared.on_change = swap
        _start_soon(shared)
        runtime.closers.append(shared.close)
    # Provider calls get their own pool, apart from the targets' (Runtime is built in the loop).
    idp_http = aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar())
    clients: dict[str, OidcClient] = {}
    for cfg in configs:
        binding = binding_for(cfg.session_cookie_name, cfg.issuer, cfg.client_id)
        if binding not in clients:
            clients[binding] = _client_for(cfg, idp_http, runtime.clock)
    refresher = SingleFlightRefresher(runtime.clock, refresh_coordinator(store, configs))
    action = AuthenticateAction(store=store, states=StateCodec(Sealer(secrets, "albauth login state")),
                                headers=headers, clients=clients, metrics=runtime.metrics,
                                clock=runtime.clock, refresher=refresher, keys=shared,
                                expose_error_reason=settings.proxy.expose_error_reason)
    for cfg in configs:
        action.register(cfg)
    runtime.closers.append(refresher.close)
    runtime.closers.append(idp_http.close)
    runtime.closers.append(store.close)
    return action


def _client_for(cfg: AuthenticateConfig, http: aiohttp.ClientSession, clock: Clock) -> OidcClient:
    return OidcClient(http, issuer=cfg.issuer, client_id=cfg.client_id, client_secret=cfg.client_secret,
                      client_auth=cfg.client_auth, authorization_endpoint=cfg.authorization_endpoint,
                      token_endpoint=cfg.token_endpoint, userinfo_endpoint=cfg.userinfo_endpoint,
                      jwks_uri=cfg.jwks_uri, timeout=cfg.idp_timeout, clock=clock)
