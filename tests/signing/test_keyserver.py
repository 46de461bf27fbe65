"""The key endpoint (checklist 50, 52): PEM per kid, as public-keys.auth.elb.<region> serves."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import jwt
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from albauth.signing import KeyRing, SigningKey, add_key_routes, peek_header, verify_alb_jwt

from .vectors import NOW

Client = Callable[[web.Application], Awaitable[TestClient[web.Request, web.Application]]]


class _Current:
    """The ring in force at each request, as albauth's shared ring is after a reload."""

    def __init__(self, provider: Callable[[], KeyRing]) -> None:
        self.provider = provider

    def jwks(self) -> dict[str, Any]:
        return self.provider().jwks()

    def public_pem(self, kid: str) -> bytes | None:
        return self.provider().public_pem(kid)


def _app(provider: Callable[[], KeyRing]) -> web.Application:
    app = web.Application()
    add_key_routes(app, _Current(provider))
    return app


async def test_token_verifies_with_the_pem_fetched_by_kid(
        aiohttp_server: Callable[[web.Application], Awaitable[TestServer]],
        keyring: KeyRing, alb_token: str, signer_arn: str) -> None:
    import aiohttp

    server = await aiohttp_server(_app(lambda: keyring))
    # The steps of AWS's sample: read kid from the header, fetch <base>/<kid>, verify.
    header = peek_header(alb_token)
    assert header["signer"] == signer_arn
    async with aiohttp.ClientSession() as http:
        async with http.get(server.make_url(f"/{header['kid']}")) as resp:
            assert resp.status == 200
            assert resp.content_type == "text/plain"
            pem = await resp.read()
    assert pem.startswith(b"-----BEGIN PUBLIC KEY-----")
    assert verify_alb_jwt(alb_token, pem, expected_signer=signer_arn, now=NOW).header == header
    assert jwt.decode(alb_token, pem, algorithms=["ES256"], options={"verify_exp": False})["sub"]


async def test_unknown_kid_is_404(aiohttp_client: Client, keyring: KeyRing) -> None:
    client = await aiohttp_client(_app(lambda: keyring))
    resp = await client.get("/00000000-0000-5000-8000-000000000000")
    assert resp.status == 404


async def test_jwks_lists_the_ring(aiohttp_client: Client, keyring: KeyRing) -> None:
    client = await aiohttp_client(_app(lambda: keyring))
    resp = await client.get("/.well-known/jwks.json")
    assert resp.status == 200
    body: dict[str, Any] = await resp.json()
    assert body == keyring.jwks()


async def test_a_reloaded_ring_is_served_at_once(aiohttp_client: Client) -> None:
    rings = [KeyRing.generate()]
    client = await aiohttp_client(_app(lambda: rings[0]))
    old = rings[0].current
    new = SigningKey.generate()
    rings[0] = KeyRing([new, old])
    assert (await client.get(f"/{new.kid}")).status == 200
    assert await (await client.get(f"/{old.kid}")).read() == old.public_pem()
