"""The admin listener: health, metrics and ALB's public-key endpoint.

`GET /<kid>` answers exactly like `https://public-keys.auth.elb.<region>.amazonaws.com/<kid>`,
so apps that verify x-amzn-oidc-data only need their key URL pointed here."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from aiohttp import web

from albauth.ops.metrics import Metrics
from albauth.signing.keyserver import KeySource, add_key_routes

__all__ = ["build_admin_app"]


def build_admin_app(metrics: Metrics, listener_urls: Callable[[], Sequence[str]],
                    keys: KeySource | None) -> web.Application:
    app = web.Application()

    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "listeners": list(listener_urls())})

    async def render_metrics(_: web.Request) -> web.Response:
        resp = web.Response(body=metrics.render())
        resp.headers["Content-Type"] = metrics.content_type
        return resp

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", render_metrics)
    if keys is not None:
        add_key_routes(app, keys)
    return app
