"""One round trip to the OpenID provider, bounded in time and size, with failures
turned into ALB's error types (spec 6.2). Secrets never reach a log or a traceback."""

from __future__ import annotations

import json
import logging
from typing import Any

import aiohttp

from albauth.auth.errors import DiscoveryError, IdPError
from albauth.auth.provider_network import EnvProxies

# The client's logger: these lines are the OIDC client's, wherever the code lives.
log = logging.getLogger("albauth.auth.oidc_client")

#: No IdP answer we use is anywhere near this; past it we stop reading.
MAX_RESPONSE_BYTES = 1024 * 1024


class _TooLarge(Exception):
    pass


async def _read_limited(resp: aiohttp.ClientResponse, limit: int) -> bytes:
    if resp.content_length is not None and resp.content_length > limit:
        raise _TooLarge
    body = bytearray()
    async for chunk in resp.content.iter_chunked(64 * 1024):
        body += chunk
        if len(body) > limit:
            raise _TooLarge
    return bytes(body)


class IdpHttp:
    """The provider's endpoints as the relying party calls them: one total timeout per
    call, no redirects followed, at most MAX_RESPONSE_BYTES read."""

    def __init__(self, http: aiohttp.ClientSession, timeout: float, proxies: EnvProxies | None = None) -> None:
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        self._http = http
        self._proxies = proxies
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    async def call(self, method: str, url: str, *, what: str, headers: dict[str, str],
                   data: bytes | None = None, unreachable: type[IdPError],
                   too_large: type[IdPError]) -> tuple[int, bytes]:
        """One IdP round trip within the total timeout: (status, body). Redirects are
        not followed: a token endpoint or UserInfo answer is never a 3xx."""
        proxy = self._proxies.for_url(url) if self._proxies else None
        try:
            async with self._http.request(method, url, headers=headers, data=data,
                                          timeout=self._timeout, allow_redirects=False,
                                          raise_for_status=False, proxy=proxy.url if proxy else None,
                                          proxy_headers=proxy.headers if proxy else None) as resp:
                return resp.status, await _read_limited(resp, MAX_RESPONSE_BYTES)
        except _TooLarge:
            log.warning("%s %s answered over %d bytes", what, url, MAX_RESPONSE_BYTES)
            raise too_large(f"{what} response is over {MAX_RESPONSE_BYTES} bytes") from None
        except (aiohttp.ClientError, TimeoutError) as exc:
            # `from None`: keep request details (headers with credentials) out of the
            # chained traceback.
            log.warning("%s %s unreachable: %s", what, url, type(exc).__name__)
            raise unreachable(f"{what} unreachable or timed out ({type(exc).__name__})") from None

    async def get_json(self, url: str, what: str) -> Any:
        """A discovery document or a JWKS; any failure is a DiscoveryError (500)."""
        status, body = await self.call("GET", url, what=what,
                                       headers={"Accept": "application/json"},
                                       unreachable=DiscoveryError, too_large=DiscoveryError)
        if not 200 <= status < 300:
            log.warning("%s %s answered %d", what, url, status)
            raise DiscoveryError(f"{what} answered {status}")
        try:
            return json.loads(body)
        except ValueError:
            raise DiscoveryError(f"{what} is not JSON") from None


__all__ = ["MAX_RESPONSE_BYTES", "IdpHttp"]
