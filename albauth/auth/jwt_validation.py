"""ALB's `jwt-validation` action: a request carries `Authorization: Bearer <JWT>`; the
signature is checked against the configured JWKS (RS256, as ALB; others opt-in), `iss` and
`exp` are required, `nbf` and `iat` checked when present, and the additional claims as
configured. A valid token is forwarded as it came; anything else is a 401 with RFC 6750's
`WWW-Authenticate`, and nothing is forwarded.

The JWKS is cached per endpoint and refetched when a token names an unknown `kid` (the
issuer rotated), at most once per REFETCH_INTERVAL, so a stream of tokens with made-up
kids cannot make albauth hammer the endpoint. ALB's JWKS limits apply: a response over
150 KB or with more than 10 keys is refused (and the request with it).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeGuard

import aiohttp
from aiohttp import web
from joserfc.jwk import Key

from albauth.auth.errors import InvalidIdToken
from albauth.auth.idtoken import LEEWAY, UnknownKeyId, import_jwks, peek, verify_signature
from albauth.auth.provider_network import EnvProxies
from albauth.config.model import AdditionalClaim, JwtValidationConfig
from albauth.error_pages import SERVER, alb_error_body
from albauth.ops.log_values import printable

__all__ = ["JwtValidator", "MAX_JWKS_BYTES", "MAX_JWKS_KEYS", "REFETCH_INTERVAL"]

log = logging.getLogger("albauth.jwt")

MAX_JWKS_BYTES = 150 * 1024  # ALB's limit on the JWKS response
MAX_JWKS_KEYS = 10  # ALB's limit on the keys in it
REFETCH_INTERVAL = 10.0  # seconds between fetches of one endpoint for unknown kids
JWKS_MAX_AGE = 3600.0
_FETCH_TIMEOUT = aiohttp.ClientTimeout(total=5)


class BearerRefused(Exception):
    """The request's bearer token is missing or not acceptable."""

    def __init__(self, description: str, *, missing: bool = False) -> None:
        super().__init__(description)
        self.description = description
        self.missing = missing


@dataclass
class _Jwks:
    keys: list[Key]
    fetched_at: float
    refetched_at: float = float("-inf")  # the last refetch for an unknown kid


class JwtValidator:
    def __init__(self, http: aiohttp.ClientSession, clock: Callable[[], float] = time.time, *,
                 monotonic: Callable[[], float] = time.monotonic, proxies: EnvProxies | None = None) -> None:
        self._http = http
        self._proxies = proxies  # albauth.auth.provider_network: the outbound proxy, as for providers
        self._clock = clock
        self._monotonic = monotonic
        self._jwks: dict[str, _Jwks] = {}

    async def check(self, request: web.BaseRequest, config: JwtValidationConfig) -> web.Response | None:
        """None: the token is valid and the request goes on as it came; else ALB's 401."""
        try:
            token = _bearer(request.headers.getall("Authorization", ()))
            await self.validate(token, config)
        except BearerRefused as exc:
            log.info("jwt-validation refused a request: %s", printable(exc.description))
            return _unauthorized(exc)
        return None

    async def validate(self, token: str, config: JwtValidationConfig) -> Mapping[str, Any]:
        try:
            header, claims = peek(token)
        except ValueError:
            raise BearerRefused("the token is not a JWT") from None
        alg = header.get("alg")
        if alg not in config.algorithms:
            raise BearerRefused(f"the token's algorithm {alg!r} is not accepted")
        await self._verify(token, config)
        check_claims(claims, config, self._clock())
        return claims

    async def _verify(self, token: str, config: JwtValidationConfig) -> None:
        keys, fresh = await self._keys(config.jwks_endpoint, refetch=False)
        try:
            verify_signature(token, keys)
            return
        except UnknownKeyId:
            if fresh:
                raise BearerRefused("the token's kid is not in the JWKS") from None
        except InvalidIdToken:
            raise BearerRefused("the token's signature does not verify") from None
        keys, fresh = await self._keys(config.jwks_endpoint, refetch=True)
        try:
            verify_signature(token, keys)
        except (UnknownKeyId, InvalidIdToken):
            raise BearerRefused("the token's kid is not in the JWKS") from None

    async def _keys(self, endpoint: str, *, refetch: bool) -> tuple[list[Key], bool]:
        """(keys, fetched just now). A refetch for an unknown kid happens at most once per
        REFETCH_INTERVAL per endpoint."""
        cached = self._jwks.get(endpoint)
        now = self._monotonic()
        if cached is not None and now - cached.fetched_at <= JWKS_MAX_AGE and not (
                refetch and now - cached.refetched_at >= REFETCH_INTERVAL):
            return cached.keys, False
        keys = await self._fetch(endpoint)
        self._jwks[endpoint] = _Jwks(keys, now, now if refetch else float("-inf"))
        return keys, True

    async def _fetch(self, endpoint: str) -> list[Key]:
        try:
            proxy = self._proxies.for_url(endpoint) if self._proxies else None
            async with self._http.get(endpoint, timeout=_FETCH_TIMEOUT, allow_redirects=False,
                                      proxy=proxy.url if proxy else None,
                                      proxy_headers=proxy.headers if proxy else None) as resp:
                status = resp.status
                body = b""
                while len(body) <= MAX_JWKS_BYTES:
                    chunk = await resp.content.read(64 * 1024)
                    if not chunk:
                        break
                    body += chunk
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("JWKS %s unreachable: %s", endpoint, type(exc).__name__)
            raise BearerRefused("the issuer's keys are unavailable") from None
        if status != 200:
            log.warning("JWKS %s answered %d", endpoint, status)
            raise BearerRefused("the issuer's keys are unavailable")
        if len(body) > MAX_JWKS_BYTES:
            log.warning("JWKS %s is over ALB's 150 KB", endpoint)
            raise BearerRefused("the issuer's JWKS is over ALB's limits")
        try:
            document = json.loads(body)
            if len(document.get("keys", ())) > MAX_JWKS_KEYS:
                log.warning("JWKS %s has more than ALB's 10 keys", endpoint)
                raise BearerRefused("the issuer's JWKS is over ALB's limits")
            return import_jwks(document)
        except (ValueError, AttributeError, TypeError):
            log.warning("JWKS %s is not a JWK Set", endpoint)
            raise BearerRefused("the issuer's keys are unavailable") from None


def _bearer(values: list[str] | tuple[str, ...]) -> str:
    if len(values) != 1:
        raise BearerRefused("no bearer token" if not values else "more than one Authorization header",
                            missing=not values)
    scheme, _, token = values[0].strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise BearerRefused("no bearer token", missing=True)
    return token.strip()


def check_claims(claims: Mapping[str, Any], config: JwtValidationConfig, now: float) -> None:
    if claims.get("iss") != config.issuer:
        raise BearerRefused("the token's issuer is not the configured one")
    exp = claims.get("exp")
    if not _number(exp):
        raise BearerRefused("the token has no exp")
    if exp + LEEWAY <= now:
        raise BearerRefused("the token has expired")
    for name in ("nbf", "iat"):
        value = claims.get(name)
        if value is None:
            continue
        if not _number(value):
            raise BearerRefused(f"the token's {name} is not a number")
        if value - LEEWAY > now:
            raise BearerRefused(f"the token's {name} is in the future")
    for claim in config.additional_claims:
        if not claim_matches(claim, claims.get(claim.name)):
            raise BearerRefused(f"the token's {claim.name} claim does not match")


def claim_matches(claim: AdditionalClaim, value: Any) -> bool:
    """single-string: the claim is one of the values. string-array / space-separated-values:
    the claim carries every configured value (ALB does not document any-vs-all; requiring
    all is the stricter reading)."""
    if claim.format == "single-string":
        return isinstance(value, str) and value in claim.values
    if claim.format == "string-array":
        present = set(value) if isinstance(value, list) and all(isinstance(v, str) for v in value) else None
    else:
        present = set(value.split()) if isinstance(value, str) else None
    return present is not None and all(v in present for v in claim.values)


def _number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _unauthorized(exc: BearerRefused) -> web.Response:
    # RFC 6750 3: no error code when the request carried no token at all.
    quoted = exc.description.replace("\\", "\\\\").replace('"', '\\"')
    challenge = "Bearer" if exc.missing else f'Bearer error="invalid_token", error_description="{quoted}"'
    return web.Response(status=401, body=alb_error_body(401), content_type="text/html",
                        headers={"Server": SERVER, "WWW-Authenticate": challenge})

