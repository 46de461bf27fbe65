"""The authenticate-oidc / authenticate-cognito action, as ALB runs it (spec 1.3, 2, 3, 4, 6.2).

`check` runs for every request on a rule with an authenticate action: valid session →
identity headers; none → OnUnauthenticatedRequest; expired access token → refresh.
`callback` answers `/oauth2/idpresponse` on every listener that has an authenticate action.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import secrets
import time
from collections.abc import Iterable, Mapping
from dataclasses import replace
from functools import lru_cache
from typing import Protocol
from urllib.parse import quote, urlsplit

from aiohttp import web

from albauth.auth.backchannel import backchannel_logout
from albauth.auth.bound import BoundAction
from albauth.auth.claims import login_claims, refreshed_claims
from albauth.auth.errors import ELB_AUTH_ERROR, ELB_AUTH_FAILURE, IdPError, UserClaimsTooLarge
from albauth.auth.headers import IdentityHeaders
from albauth.auth.logout import logout
from albauth.auth.oidc_client import OidcClient, TokenSet
from albauth.auth.refresh import SingleFlightRefresher
from albauth.auth.responder import ErrorResponder
from albauth.auth.spa import (
    cannot_follow_redirect,
    is_cors_preflight,
    login_loop,
    login_required,
    loop_cookie,
    same_origin_return_path,
)
from albauth.auth.state import LOGIN_WINDOW, NONCE_COOKIE, InvalidState, LoginState, StateCodec, new_browser_nonce
from albauth.auth.static_identity import StaticIdentity
from albauth.clock import Clock
from albauth.config.model import AuthenticateConfig
from albauth.contracts import NOT_AUTHENTICATED, AuthPassed, ClientOrigin
from albauth.error_pages import SERVER, AlbError
from albauth.ops.log_values import printable
from albauth.ops.metrics import Metrics
from albauth.session.cookies import CookiePolicy, session_shards
from albauth.session.errors import SessionInvalid, SessionStoreError
from albauth.session.model import Session, binding_for, new_sid
from albauth.session.store import SessionStore

log = logging.getLogger("albauth.auth")

MAX_CLAIMS_BYTES = 11 * 1024  # userinfo JSON + access token (spec 2.6)


# RFC 3986's unreserved characters need no escape, and the state (standard base64) needs
# three: quote() is a Python loop over every byte of a ~300-character state.
_UNRESERVED = re.compile(r"[A-Za-z0-9._~-]*").fullmatch
_BASE64 = re.compile(r"[A-Za-z0-9+/=._~-]*").fullmatch
_BASE64_ESCAPES = str.maketrans({"+": "%2B", "/": "%2F", "=": "%3D"})


def _component(value: str) -> str:
    if _UNRESERVED(value):
        return value
    if _BASE64(value):
        return value.translate(_BASE64_ESCAPES)
    return _quoted(value)


@lru_cache(maxsize=256)  # what is left is constant per listener: redirect_uri, scope
def _quoted(value: str) -> str:
    return quote(value, safe="")


class KeysReady(Protocol):
    async def ready(self) -> object: ...


def pkce_challenge(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


class AuthenticateAction:
    def __init__(self, *, store: SessionStore, states: StateCodec, headers: IdentityHeaders,
                 clients: dict[str, OidcClient], metrics: Metrics, clock: Clock,
                 refresher: SingleFlightRefresher | None = None, expose_error_reason: bool = False,
                 keys: KeysReady | None = None) -> None:
        self.store = store
        self.states = states
        self.headers = headers
        self.metrics = metrics
        self.clock = clock
        self.refresher = refresher or SingleFlightRefresher(clock)
        self.responder = ErrorResponder(metrics, expose_error_reason=expose_error_reason)
        self.keys = keys  # signing keys shared through Redis: awaited before the first signature
        self._clients = clients  # keyed by binding
        self._bound: dict[AuthenticateConfig, BoundAction] = {}
        # By identity first: hashing a frozen config hashes every field, on every request.
        self._bound_by_id: dict[int, tuple[AuthenticateConfig, BoundAction]] = {}
        self._by_binding: dict[str, BoundAction] = {}
        self._logout_paths: dict[str, BoundAction] = {}  # opt-in, albauth's own (not ALB's)
        self._backchannel_paths: dict[str, BoundAction] = {}

    def register(self, config: AuthenticateConfig) -> None:
        binding = binding_for(config.session_cookie_name, config.issuer, config.client_id)
        static = StaticIdentity(config, binding) if config.static_identity else None
        bound = BoundAction(config, binding, self._clients[binding], static)
        self._bound[config] = bound
        # The first config registered for a binding answers its callbacks; others with the
        # same binding share its sessions (spec 1.4).
        self._by_binding.setdefault(binding, bound)
        if config.logout_path:
            self._logout_paths.setdefault(config.logout_path, bound)
        if config.backchannel_logout_path:
            self._backchannel_paths.setdefault(config.backchannel_logout_path, bound)

    # -- opt-in logout routes (albauth.auth.logout, albauth.auth.backchannel) -----------

    async def logout(self, request: web.BaseRequest, origin: ClientOrigin) -> web.StreamResponse:
        """A configured `logout_path` or `backchannel_logout_path` (the listener only
        hands over those paths)."""
        bound = self._logout_paths.get(request.path)
        if bound is not None:
            return await logout(self.store, self.responder, request, bound, origin)
        return await backchannel_logout(self.store, self.clock, request, self._backchannel_paths[request.path])

    # -- every request on an authenticate rule -----------------------------------------

    async def check(self, request: web.BaseRequest, config: AuthenticateConfig,
                    origin: ClientOrigin) -> AuthPassed | web.StreamResponse:
        bound = self._bound_for(config)
        if config.allow_cors_preflight and is_cors_preflight(request):
            return NOT_AUTHENTICATED  # preflights carry no cookies; the target answers CORS
        if bound.static is not None:
            return await self._static(request, bound)
        # Only the session's shards are read (load, and replace_shards after a refresh).
        shards = session_shards(request.headers.get("Cookie", ""), config.session_cookie_name)
        cookies: Mapping[str, str] = request.cookies if shards is None else shards
        invalid = False
        try:
            session = await self.store.load(cookies, config.session_cookie_name, bound.binding)
        except SessionInvalid:
            session, invalid = None, True
        except SessionStoreError as exc:  # a store that is down (Redis) fails closed
            return self.responder.store_failed(exc, "load")
        mode = config.on_unauthenticated
        if session is None:
            if mode == "allow":
                return AuthPassed(())
            if mode == "deny":
                return self.error_response(401, "AuthInvalidCookie" if invalid else None,
                                           ELB_AUTH_FAILURE if invalid else None)
            return await self._start_login(request, bound, origin)
        now = self.clock()
        if now >= session.expires_at:
            # Expired sessions go back to the provider even under deny (spec 1.3).
            return AuthPassed(()) if mode == "allow" else await self._start_login(request, bound, origin)
        set_cookies: Iterable[str] = ()
        expires = session.access_token_expires_at
        if expires is not None and now >= expires and session.refresh_token:
            outcome = await self._refresh_session(request, session, bound, origin, cookies, now)
            if isinstance(outcome, web.StreamResponse):
                return outcome
            if outcome is None:  # refresh failed: back to the provider, even under deny
                return AuthPassed(()) if mode == "allow" else await self._start_login(request, bound, origin)
            session, set_cookies = outcome
        return await self._identity(session, config, tuple(set_cookies))

    def _bound_for(self, config: AuthenticateConfig) -> BoundAction:
        known = self._bound_by_id.get(id(config))
        if known is not None and known[0] is config:
            return known[1]
        bound = self._bound[config]
        self._bound_by_id[id(config)] = (config, bound)
        return bound

    async def _identity(self, session: Session, config: AuthenticateConfig,
                        set_cookies: tuple[str, ...] = ()) -> AuthPassed | web.StreamResponse:
        """The x-amzn-oidc-* headers for the target."""
        if self.keys is not None:
            try:
                await self.keys.ready()  # the shared key ring, loaded once (then no I/O)
            except SessionStoreError as exc:
                return self.responder.store_failed(exc, "signing key load")
        return AuthPassed(self.headers.for_session(session, issuer=config.issuer, client_id=config.client_id),
                          set_cookies)

    async def _static(self, request: web.BaseRequest, bound: BoundAction) -> AuthPassed | web.StreamResponse:
        assert bound.static is not None
        session = bound.static.session_for(request)
        if session is None:
            return self.error_response(401, "AuthStaticIdentityUnknownUser", ELB_AUTH_FAILURE)
        return await self._identity(session, bound.config)

    async def _refresh_session(self, request: web.BaseRequest, session: Session, bound: BoundAction,
                               origin: ClientOrigin, cookies: Mapping[str, str], now: float
                               ) -> tuple[Session, list[str]] | web.StreamResponse | None:
        """Spec 4: refresh once (per session, across replicas with Redis), re-read UserInfo,
        re-issue the cookies. None when the provider refused: the caller logs in again."""
        name = bound.config.session_cookie_name
        policy = self._cookie_policy(request, origin)
        try:
            # Saved once, by whoever refreshed (issue 8); waiters share that outcome.
            outcome = await self.refresher.refresh(
                session, lambda s: self._refresh(s, bound),
                reload=lambda: self.store.load(cookies, name, bound.binding),
                persist=lambda s: self.store.save(s, name, cookies, policy, now))
            self.metrics.refreshes.labels("success").inc()
            return outcome.session, list(outcome.set_cookies)
        except (IdPError, SessionInvalid) as exc:
            self.metrics.refreshes.labels("provider_refused").inc()
            log.info("refresh failed (%s): back to the provider", getattr(exc, "error_reason", exc))
            return None
        except SessionStoreError as exc:  # the store (lock, reload, save) failed: fail closed
            self.metrics.refreshes.labels("store_error").inc()
            return self.responder.store_failed(exc, "refresh")

    async def _refresh(self, session: Session, bound: BoundAction) -> Session:
        assert session.refresh_token is not None
        started = time.perf_counter()
        tokens = await bound.client.refresh(session.refresh_token)
        info = await bound.client.userinfo(tokens.access_token, sub=session.sub)
        claims, size = refreshed_claims(bound.config.claims_source, session.claims, info.claims, info.raw)
        self._check_size(size, tokens.access_token)
        self.metrics.auth_latency.observe(time.perf_counter() - started)
        self.metrics.count("ELBAuthRefreshTokenSuccess")
        return replace(session, claims=claims, access_token=tokens.access_token,
                       refresh_token=tokens.refresh_token or session.refresh_token,
                       access_token_expires_at=tokens.access_token_expires_at(self.clock()))

    # -- redirect to the provider ------------------------------------------------------

    async def login(self, request: web.BaseRequest, config: AuthenticateConfig, origin: ClientOrigin, *,
                    host: str, return_url: str) -> web.StreamResponse:
        """Forward-auth's `/oauth2/start`: the login redirect of `config`, with the callback on
        `host` (the controller's, where the browser keeps its cookies) and a return to
        `return_url`, which the caller checked against the allowed redirect domains."""
        return await self._login_redirect(request, self._bound[config], origin, request.raw_path,
                                          host=host, return_url=return_url)

    async def _start_login(self, request: web.BaseRequest, bound: BoundAction,
                           origin: ClientOrigin) -> web.StreamResponse:
        """ALB's 302 to the provider, or what a single-page app asked for instead."""
        config = bound.config
        script = config.xhr_401 and cannot_follow_redirect(request)
        loop_line = None
        if config.redirect_loop_limit and not script:
            attempts, loop_line = loop_cookie(request, self.clock(), config.redirect_loop_window)
            if attempts >= config.redirect_loop_limit:
                return login_loop(attempts, config.redirect_loop_window)
        original = (same_origin_return_path(request, origin.scheme) if script else None) or request.raw_path
        resp = await self._login_redirect(request, bound, origin, original)
        if script and resp.status == 302:
            answer = login_required(resp.headers["Location"])
            for line in resp.headers.getall("Set-Cookie", ()):
                answer.headers.add("Set-Cookie", line)
            return answer
        if loop_line is not None and resp.status == 302:
            resp.headers.add("Set-Cookie", loop_line + ("; Secure" if origin.secure_cookies else ""))
        return resp

    async def _login_redirect(self, request: web.BaseRequest, bound: BoundAction, origin: ClientOrigin,
                              original_uri: str, *, host: str | None = None,
                              return_url: str | None = None) -> web.Response:
        host = host or request.headers.get("Host")
        if not host:
            # ALB "was unable to generate a redirect URL" (HTTP/1.0 without Host).
            return self.error_response(401, "AuthMissingHostHeader", ELB_AUTH_ERROR)
        config = bound.config
        try:
            metadata = await bound.client.metadata()
        except IdPError as exc:
            return self.error_from(exc)
        redirect_uri = f"{origin.scheme}://{host}/oauth2/idpresponse"
        nonce = new_browser_nonce()
        verifier = secrets.token_urlsafe(48) if config.pkce else None
        oidc_nonce = secrets.token_urlsafe(16) if config.nonce else None
        state = self.states.encode(LoginState(
            nonce=nonce, original_uri=original_uri, binding=bound.binding, redirect_uri=redirect_uri,
            created_at=self.clock(), code_verifier=verifier, oidc_nonce=oidc_nonce, return_url=return_url))
        # ALB's parameters, in ALB's order (spec 2.2); values percent-encoded, spaces as %20.
        params = [("client_id", config.client_id), ("redirect_uri", redirect_uri),
                  ("response_type", "code"), ("scope", config.scope), ("state", state)]
        params.extend(config.extra_params)
        if verifier:
            params += [("code_challenge", pkce_challenge(verifier)), ("code_challenge_method", "S256")]
        if oidc_nonce:
            params.append(("nonce", oidc_nonce))
        query = "&".join(f"{_component(k)}={_component(v)}" for k, v in params)
        endpoint = metadata.authorization_endpoint
        location = f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"
        resp = web.Response(status=302, headers={"Location": location, "Server": SERVER})
        attrs = "; Path=/" + ("; Secure" if origin.secure_cookies else "") + "; HttpOnly"
        resp.headers.add("Set-Cookie", f"{NONCE_COOKIE}={nonce}{attrs}")
        return resp

    # -- /oauth2/idpresponse -----------------------------------------------------------

    async def callback(self, request: web.BaseRequest, origin: ClientOrigin) -> web.StreamResponse:
        query = request.query
        raw_state = query.get("state")
        # The checks in the spec's order (2.3): the nonce is checked before the code is spent.
        if not raw_state:
            return self.error_response(401, "AuthMissingStateParam", ELB_AUTH_FAILURE)
        try:
            state = self.states.decode(raw_state)
        except InvalidState:
            return self.error_response(401, "AuthInvalidStateParam", ELB_AUTH_FAILURE)
        cookie_nonce = request.cookies.get(NONCE_COOKIE)
        if not cookie_nonce:
            return self.error_response(401, "AuthMissingAWSALBAuthNonce", ELB_AUTH_FAILURE)
        if not hmac.compare_digest(cookie_nonce.encode(), state.nonce.encode()):
            return self.error_response(401, "AuthInvalidAWSALBAuthNonce", ELB_AUTH_FAILURE)
        now = self.clock()
        if not 0 <= now - state.created_at <= LOGIN_WINDOW:
            return self.error_response(401, "AuthInvalidStateParam", ELB_AUTH_FAILURE)
        if "error" in query:
            log.info("provider returned error=%s to the callback", printable(query.get("error", ""), 64))
            return self.error_response(561, "AuthIdPError", ELB_AUTH_FAILURE)
        code = query.get("code")
        if not code:
            return self.error_response(401, "AuthMissingCodeParam", ELB_AUTH_FAILURE)
        bound = self._by_binding.get(state.binding)
        if bound is None:  # the config changed since the login started
            return self.error_response(401, "AuthInvalidStateParam", ELB_AUTH_FAILURE)
        started = time.perf_counter()
        try:
            session = await self._login(bound, code, state, now)
        except IdPError as exc:
            self.metrics.auth_latency.observe(time.perf_counter() - started)
            return self.error_from(exc)
        self.metrics.auth_latency.observe(time.perf_counter() - started)
        try:
            cookies = await self.store.save(session, bound.config.session_cookie_name, request.cookies,
                                            self._cookie_policy(request, origin), now)
        except SessionStoreError as exc:
            return self.responder.store_failed(exc, "login")
        self.metrics.count("ELBAuthSuccess")
        resp = web.Response(status=302, headers={"Location": return_location(state), "Server": SERVER})
        for cookie in cookies:
            resp.headers.add("Set-Cookie", cookie)
        return resp

    async def _login(self, bound: BoundAction, code: str, state: LoginState, now: float) -> Session:
        client = bound.client
        tokens: TokenSet = await client.exchange_code(code, state.redirect_uri, code_verifier=state.code_verifier)
        assert tokens.id_token is not None  # exchange_code refuses a response without one
        id_claims = await client.validate_id_token(tokens.id_token, nonce=state.oidc_nonce)
        info = await client.userinfo(tokens.access_token, sub=id_claims["sub"])
        config = bound.config
        claims, size = login_claims(config.claims_source, id_claims, info.claims, info.raw)
        self._check_size(size, tokens.access_token)
        return Session(
            sid=new_sid(), binding=bound.binding, claims=claims, access_token=tokens.access_token,
            refresh_token=tokens.refresh_token, access_token_expires_at=tokens.access_token_expires_at(now),
            authenticated_at=now, expires_at=now + config.session_timeout,
            idp_sid=id_claims.get("sid") if isinstance(id_claims.get("sid"), str) else None)

    def _check_size(self, claims_size: int, access_token: str) -> None:
        if claims_size + len(access_token.encode()) > MAX_CLAIMS_BYTES:
            raise UserClaimsTooLarge("user claims and access token exceed 11 KiB")

    # -- helpers -----------------------------------------------------------------------

    def _cookie_policy(self, request: web.BaseRequest, origin: ClientOrigin) -> CookiePolicy:
        # ALB adds SameSite=None "with CORS requests"; an Origin header is the sign of one.
        return CookiePolicy(secure=origin.secure_cookies, same_site_none="Origin" in request.headers)

    def error_from(self, exc: AlbError) -> web.Response:
        return self.responder.error_from(exc)

    def error_response(self, status: int, error_reason: str | None, metric: str | None) -> web.Response:
        return self.responder.error_response(status, error_reason, metric)


def return_location(state: LoginState) -> str:
    """The original URL, made absolute on the origin the login started from (that of the
    redirect_uri sent): a relative `//evil.example/x` would send the browser elsewhere."""
    if state.return_url:  # forward-auth's `rd`, allow-listed before it was sealed
        return state.return_url
    parts = urlsplit(state.redirect_uri)
    return f"{parts.scheme}://{parts.netloc}{state.original_uri}"
