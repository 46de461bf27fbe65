"""The provider's signing keys (its JWKS), fetched once and refetched once when a token
names a `kid` we do not have: the provider may have rotated its keys (OIDC Core 10.1.1).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from joserfc.jwk import Key

from albauth.auth.errors import DiscoveryError, InvalidIdToken
from albauth.auth.idtoken import UnknownKeyId, import_jwks, verify_signature

FetchJson = Callable[[str, str], Awaitable[Any]]  # (url, what) -> the parsed document


class SigningKeys:
    """One provider's JWKS, shared by every login: concurrent refetches after a rotation
    collapse into one (the version tells whether another request already refetched)."""

    def __init__(self, fetch_json: FetchJson) -> None:
        self._fetch_json = fetch_json
        self._keys: list[Key] | None = None
        self._version = 0
        self._lock = asyncio.Lock()

    async def verify(self, token: str, jwks_uri: str) -> None:
        """Check a JWS signature (ID token or logout token). Raises InvalidIdToken, or
        DiscoveryError when the JWKS cannot be had."""
        version, keys, fresh = await self._current(jwks_uri)
        try:
            verify_signature(token, keys)
        except UnknownKeyId as exc:
            if fresh:
                raise InvalidIdToken(str(exc)) from None
            # The provider may have rotated its keys: refetch once, then give up.
            _, keys, _ = await self._current(jwks_uri, stale=version)
            try:
                verify_signature(token, keys)
            except UnknownKeyId as again:
                raise InvalidIdToken(str(again)) from None

    async def _current(self, jwks_uri: str, *,
                       stale: int | None = None) -> tuple[int, list[Key], bool]:
        """(version, keys, fetched-by-this-call). With `stale`, refetch unless another
        request already replaced that version meanwhile."""
        async with self._lock:
            fetched = False
            if self._keys is None or stale == self._version:
                document = await self._fetch_json(jwks_uri, "jwks")
                try:
                    self._keys = import_jwks(document)
                except ValueError as exc:
                    raise DiscoveryError(f"jwks: {exc}") from None
                self._version += 1
                fetched = True
            return self._version, self._keys, fetched


__all__ = ["SigningKeys"]
