"""How albauth reaches OpenID providers inside enterprise networks: the CAs it trusts for
them and the outbound proxy it goes through.

* Trust: the system's store, which OpenSSL reads from `SSL_CERT_FILE` / `SSL_CERT_DIR` when
  they are set (so a container's own bundle replaces it), plus `albauth.ca_file`
  (ALBAUTH_OIDC_CA_FILE) when given: a private CA is trusted *in addition*, so an internal
  provider and a public one can sit in one configuration.
* Proxy: `HTTPS_PROXY` / `HTTP_PROXY` / `NO_PROXY` (either case), read as curl and Python's
  urllib read them. Not aiohttp's `trust_env=True`: that also sends `~/.netrc` credentials
  as Basic auth to any host netrc names (a `default` entry names them all), which would
  hand machine credentials to the provider and make every UserInfo call fail (aiohttp
  refuses an explicit Authorization header together with netrc auth).
"""

from __future__ import annotations

import base64
import logging
import ssl
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiohttp
from yarl import URL

__all__ = ["EnvProxies", "Proxy", "provider_session", "provider_ssl_context"]

log = logging.getLogger("albauth")

# NO_PROXY matching as urllib does it (suffixes, `*`, host:port); in CPython, absent from typeshed.
_bypass: Callable[[str, Mapping[str, str]], bool] = urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]


def provider_ssl_context(ca_file: str | None) -> ssl.SSLContext:
    """Certificate and host name checks always on; the trusted roots as described above."""
    context = ssl.create_default_context()  # load_default_certs: honours SSL_CERT_FILE/SSL_CERT_DIR
    if ca_file:
        context.load_verify_locations(cafile=ca_file)
    return context


def provider_session(ca_file: str | None) -> tuple[aiohttp.ClientSession, EnvProxies]:
    """A pool for calls to providers (token, UserInfo, discovery, JWKS; jwt-validation's JWKS
    endpoints too), apart from the targets', with the trust and the proxies above. Build it
    inside the running event loop."""
    proxies = EnvProxies.from_environment()
    if proxies:
        log.info("calls to OpenID providers go through %s", proxies.describe())
    connector = aiohttp.TCPConnector(ssl=provider_ssl_context(ca_file))
    return aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar(), connector=connector), proxies


@dataclass(frozen=True)
class Proxy:
    url: URL  # without credentials
    headers: dict[str, str] | None  # Proxy-Authorization, from the URL's user:password

    def __str__(self) -> str:
        return str(self.url)


class EnvProxies:
    """The proxies named by the environment, read once when albauth starts."""

    def __init__(self, proxies: Mapping[str, str]) -> None:
        self._raw = dict(proxies)  # scheme -> proxy URL, and "no" -> NO_PROXY
        self._by_scheme = {scheme: _parse(url) for scheme, url in proxies.items()
                           if scheme in ("http", "https") and url}

    @classmethod
    def from_environment(cls) -> EnvProxies:
        # getproxies_environment ignores HTTP_PROXY under CGI (REQUEST_METHOD set: httpoxy).
        return cls(urllib.request.getproxies_environment())

    def for_url(self, url: str) -> Proxy | None:
        parts = urlsplit(url)
        proxy = self._by_scheme.get(parts.scheme)
        if proxy is None or parts.hostname is None:
            return None
        host = parts.hostname if parts.port is None else f"{parts.hostname}:{parts.port}"
        if _bypass(host, self._raw):
            return None
        return proxy

    def describe(self) -> str:
        """For the startup log: proxy URLs without credentials, and NO_PROXY."""
        used = ", ".join(f"{scheme}: {proxy}" for scheme, proxy in sorted(self._by_scheme.items()))
        no_proxy = self._raw.get("no")
        return used + (f" (NO_PROXY {no_proxy})" if no_proxy else "")

    def __bool__(self) -> bool:
        return bool(self._by_scheme)


def _parse(text: str) -> Proxy:
    url = URL(text if "://" in text else f"http://{text}")  # `proxy:3128`, as curl accepts it
    if url.user is None:
        return Proxy(url, None)
    # RFC 7617 Basic credentials; the URL's percent-escapes (`corp%5Cuser`) decoded first.
    credentials = base64.b64encode(f"{url.user}:{url.password or ''}".encode()).decode("ascii")
    return Proxy(url.with_user(None), {"Proxy-Authorization": f"Basic {credentials}"})
