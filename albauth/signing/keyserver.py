"""The public-key endpoint: what `public-keys.auth.elb.<region>.amazonaws.com/<kid>` serves.

ALB serves one PEM SubjectPublicKeyInfo per kid as plain text, not a JWKS (clients that
expect JSON there break, backstage#4047). We serve exactly that, plus a JWKS for libraries
that prefer one. `GET /{kid}` catches every one-segment path, so mount these routes on
their own app or port (the `jwksUri` an app's verifier is pointed at).
"""

from __future__ import annotations

from typing import Any, Protocol

from aiohttp import web

__all__ = ["JWKS_PATH", "KeySource", "add_key_routes"]

JWKS_PATH = "/.well-known/jwks.json"


class KeySource(Protocol):
    """A key ring as the endpoint reads it (a KeyRing, or the ring shared through Redis)."""

    def jwks(self) -> dict[str, Any]: ...

    def public_pem(self, kid: str) -> bytes | None: ...


def add_key_routes(app: web.Application, keys: KeySource) -> None:
    """Add `GET /.well-known/jwks.json` and `GET /{kid}`; the ring is read per request so
    a reloaded or rotated ring is served at once."""

    async def jwks(request: web.Request) -> web.Response:
        return web.json_response(keys.jwks(),
                                 headers={"Cache-Control": "max-age=300"})

    async def public_key(request: web.Request) -> web.Response:
        pem = keys.public_pem(request.match_info["kid"])
        if pem is None:
            return web.Response(status=404, text="Not Found")
        # A kid is derived from its key, so what it names never changes.
        return web.Response(body=pem, content_type="text/plain",
                            headers={"Cache-Control": "max-age=86400"})

    # Registered first so it keeps winning should `/{kid}` ever match deeper paths.
    app.router.add_get(JWKS_PATH, jwks)
    app.router.add_get("/{kid}", public_key)
