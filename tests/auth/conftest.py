"""A small scriptable OpenID provider, served over loopback for the OIDC client tests.

Every endpoint answers from a `Script` the test can change (status, body, delay) and
records what it received. ID tokens are signed with an RS256 key generated per test.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from joserfc import jws
from joserfc.jwk import RSAKey

from albauth.auth.oidc_client import OidcClient

CLIENT_ID = "albauth-client"
CLIENT_SECRET = "s3cr:t%20&=+/é"  # ':' and '%' (and friends) to test RFC 6749 §2.3.1


# RSA key generation dominates the run time; tests draw distinct keys from a shared pool.
_KEY_POOL: list[RSAKey] = []


def _pooled_key(index: int) -> RSAKey:
    while len(_KEY_POOL) <= index:
        _KEY_POOL.append(RSAKey.generate_key(2048))
    return _KEY_POOL[index]


@dataclass
class Script:
    """How one endpoint answers. `body=None` means its normal answer."""

    status: int = 200
    body: Any = None  # a JSON-able value, or bytes sent as they are
    delay: float = 0.0
    reset: bool = False  # drop the connection instead of answering


@dataclass
class Seen:
    """One request as the provider received it."""

    method: str
    path: str
    headers: dict[str, str]
    form: dict[str, str]


@dataclass
class FakeProvider:
    base_url: str = ""
    client_id: str = CLIENT_ID
    client_secret: str = CLIENT_SECRET
    keys: list[RSAKey] = field(default_factory=list)
    scripts: dict[str, Script] = field(default_factory=dict)
    seen: dict[str, list[Seen]] = field(default_factory=dict)
    released: asyncio.Event = field(default_factory=asyncio.Event)
    keys_made: int = 0

    @property
    def issuer(self) -> str:
        return self.base_url

    def url(self, path: str) -> str:
        return self.base_url + path

    def script(self, endpoint: str) -> Script:
        return self.scripts.setdefault(endpoint, Script())

    def count(self, endpoint: str) -> int:
        return len(self.seen.get(endpoint, []))

    def last(self, endpoint: str) -> Seen:
        return self.seen[endpoint][-1]

    # -- keys and tokens ---------------------------------------------------------

    def new_key(self, kid: str) -> RSAKey:
        """A key never handed out before in this test."""
        native = _pooled_key(self.keys_made).private_key
        assert native is not None  # generated keys are private
        self.keys_made += 1
        # Built from the native key: importing JWK material re-validates it (slow).
        return RSAKey(native, native, {"kid": kid, "use": "sig", "alg": "RS256"})

    def rotate_key(self, kid: str) -> RSAKey:
        """Publish a new key in place of the old ones."""
        key = self.new_key(kid)
        self.keys = [key]
        return key

    def claims(self, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer, "sub": "user-1", "aud": CLIENT_ID,
            "iat": now, "exp": now + 300, "nonce": "n-0S6_WzA2Mj",
        }
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def id_token(self, *, key: RSAKey | None = None, header: dict[str, Any] | None = None,
                 **claims: Any) -> str:
        key = key or self.keys[0]
        protected = {"alg": "RS256", "kid": key.kid, "typ": "JWT", **(header or {})}
        return jws.serialize_compact(protected, json.dumps(self.claims(**claims)), key,
                                     algorithms=["RS256"])

    # -- endpoints ---------------------------------------------------------------

    def _default(self, endpoint: str) -> Any:
        if endpoint == "discovery":
            return {
                "issuer": self.issuer,
                "authorization_endpoint": self.url("/authorize"),
                "token_endpoint": self.url("/token"),
                "userinfo_endpoint": self.url("/userinfo"),
                "jwks_uri": self.url("/jwks"),
                "end_session_endpoint": self.url("/logout"),
            }
        if endpoint == "jwks":
            return {"keys": [k.as_dict(private=False) for k in self.keys]}
        if endpoint in ("token", "alt-token"):
            return {"access_token": "at-1", "token_type": "Bearer", "expires_in": 3600,
                    "refresh_token": "rt-1", "id_token": self.id_token()}
        if endpoint == "userinfo":
            return {"sub": "user-1", "email": "user@example.com"}
        raise AssertionError(endpoint)

    def handler(self, endpoint: str) -> Callable[[web.Request], Any]:
        async def handle(request: web.Request) -> web.StreamResponse:
            form = dict(await request.post()) if request.method == "POST" else {}
            self.seen.setdefault(endpoint, []).append(
                Seen(request.method, request.path, dict(request.headers),
                     {k: str(v) for k, v in form.items()}))
            script = self.script(endpoint)
            if script.delay:
                try:
                    await asyncio.wait_for(self.released.wait(), script.delay)
                except TimeoutError:
                    pass
            if script.reset:
                assert request.transport is not None
                request.transport.abort()  # RST-like: the client sees the connection drop
                return web.Response(status=204)
            body = self._default(endpoint) if script.body is None else script.body
            if not isinstance(body, bytes):
                body = json.dumps(body).encode()
            return web.Response(status=script.status, body=body,
                                content_type="application/json")
        return handle

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/.well-known/openid-configuration", self.handler("discovery"))
        app.router.add_get("/jwks", self.handler("jwks"))
        app.router.add_post("/token", self.handler("token"))
        app.router.add_post("/alt/token", self.handler("alt-token"))
        app.router.add_get("/userinfo", self.handler("userinfo"))
        return app


@pytest.fixture
async def provider(aiohttp_server: Any) -> AsyncIterator[FakeProvider]:
    op = FakeProvider()
    op.rotate_key("key-1")
    server = await aiohttp_server(op.app())
    op.base_url = str(server.make_url("")).rstrip("/")
    yield op
    op.released.set()  # let delayed handlers finish so the server closes at once


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


MakeClient = Callable[..., OidcClient]  # keyword arguments for OidcClient over the defaults


@pytest.fixture
def make_client(provider: FakeProvider, http: aiohttp.ClientSession) -> MakeClient:
    def make(**options: Any) -> OidcClient:
        options.setdefault("issuer", provider.issuer)
        options.setdefault("client_id", CLIENT_ID)
        options.setdefault("client_secret", CLIENT_SECRET)
        options.setdefault("timeout", 2.0)
        return OidcClient(http, **options)
    return make


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
