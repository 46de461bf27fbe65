"""Checking `x-amzn-oidc-data` the way an app behind ALB does (spec 5.2, AWS's samples):
read `kid` from the unverified header, compare `signer`, fetch `GET <key endpoint>/<kid>`
(one PEM per kid, not a JWKS), cache the PEM by kid, verify ES256, then check `exp`.

The demo shows the outcome either way, so a failure is a value (`Verification.reason`)
rather than an exception, and the claims are decoded even when they cannot be trusted.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from albauth.clock import Clock, system_clock
from albauth.signing import InvalidAlbToken, decode_unverified, verify_alb_jwt

KEY_FETCH_TIMEOUT = aiohttp.ClientTimeout(total=5)


class KeyFetchError(Exception):
    pass


@dataclass(frozen=True)
class Verification:
    header: dict[str, Any]  # decoded, trusted only when `verified`
    claims: dict[str, Any]
    verified: bool
    reason: str = ""  # why it did not verify
    key_url: str | None = None
    seconds_left: int | None = None  # until `exp`; negative once expired


@dataclass
class PublicKeys:
    """ALB's public-key endpoint as an app sees it. A kid names one key forever, so a
    PEM fetched once is cached for the life of the process (as AWS recommends)."""

    endpoint: str  # e.g. http://127.0.0.1:9901 (ALB: https://public-keys.auth.elb.<region>.amazonaws.com)
    http: aiohttp.ClientSession
    cache: dict[str, bytes] = field(default_factory=dict)

    def url_for(self, kid: str) -> str:
        return f"{self.endpoint.rstrip('/')}/{kid}"

    async def pem(self, kid: str) -> bytes:
        cached = self.cache.get(kid)
        if cached is not None:
            return cached
        url = self.url_for(kid)
        try:
            async with self.http.get(url, timeout=KEY_FETCH_TIMEOUT) as resp:
                body = await resp.read()
                if resp.status != 200:
                    raise KeyFetchError(f"GET {url} answered {resp.status}")
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise KeyFetchError(f"GET {url} failed: {exc or type(exc).__name__}") from exc
        self.cache[kid] = body
        return body


async def verify_oidc_data(token: str, keys: PublicKeys, *, expected_signer: str | None,
                           clock: Clock = system_clock) -> Verification:
    try:
        decoded = decode_unverified(token)
        header, claims = decoded.header, decoded.claims
    except InvalidAlbToken as exc:
        return Verification({}, {}, False, exc.reason)
    now = clock()
    exp = claims.get("exp", header.get("exp"))
    left = int(exp - now) if isinstance(exp, int) and not isinstance(exp, bool) else None
    kid = header.get("kid")

    def failed(reason: str, key_url: str | None = None) -> Verification:
        return Verification(header, claims, False, reason, key_url, left)

    # ALB's kids are UUIDs (aws-jwt-verify refuses others); checking that first also keeps
    # a forged header from steering the key request to another path.
    if not isinstance(kid, str) or not _is_uuid(kid):
        return failed(f"kid {kid!r} is not a UUID")
    if expected_signer is not None and header.get("signer") != expected_signer:
        return failed(f"signer {header.get('signer')!r} is not this load balancer ({expected_signer})")
    key_url = keys.url_for(kid)
    try:
        pem = await keys.pem(kid)
    except KeyFetchError as exc:
        return failed(f"no public key: {exc}", key_url)
    try:
        verify_alb_jwt(token, pem, expected_signer=expected_signer, now=now)
    except InvalidAlbToken as exc:
        return failed(exc.reason, key_url)
    return Verification(header, claims, True, "", key_url, left)


def _is_uuid(value: str) -> bool:
    try:
        return str(uuid.UUID(value)) == value.lower()
    except ValueError:
        return False
