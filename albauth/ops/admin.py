"""The admin listener: health, metrics and ALB's public-key endpoint.

`GET /<kid>` answers exactly like `https://public-keys.auth.elb.<region>.amazonaws.com/<kid>`,
so apps that verify x-amzn-oidc-data only need their key URL pointed here."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from albauth.app import Runtime


def build_admin_app(runtime: Runtime) -> web.Application:
    app = web.Application()

    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "listeners": runtime.urls})

    async def metrics(_: web.Request) -> web.Response:
        resp = web.Response(body=runtime.metrics.render())
        resp.headers["Content-Type"] = runtime.metrics.content_type
        return resp

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    if runtime.keyring is not None:
        from albauth.signing.keyserver import add_key_routes

        add_key_routes(app, lambda: runtime.keyring)
    return app
