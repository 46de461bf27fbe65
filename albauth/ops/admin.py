"""The admin listener: liveness (`/healthz`), readiness (`/readyz`, albauth.ops.health),
metrics and ALB's public-key endpoint.

`GET /<kid>` answers exactly like `https://public-keys.auth.elb.<region>.amazonaws.com/<kid>`,
so apps that verify x-amzn-oidc-data only need their key URL pointed here."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from aiohttp import web

from albauth.ops.health import Readiness
from albauth.ops.metrics import Metrics
from albauth.signing.keyserver import KeySource, add_key_routes

__all__ = ["build_admin_app"]


def build_admin_app(metrics: Metrics, listener_urls: Callable[[], Sequence[str]],
                    keys: KeySource | None, readiness: Readiness | None = None) -> web.Application:
    app = web.Application()

    async def readyz(_: web.Request) -> web.Response:
        assert readiness is not None
        report = await readiness.report()
        return web.json_response(report.body, status=200 if report.ready else 503,
                                 headers={"Cache-Control": "no-store"})

    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "listeners": list(listener_urls())})

    async def render_metrics(_: web.Request) -> web.Response:
        resp = web.Response(body=metrics.render())
        resp.headers["Content-Type"] = metrics.content_type
        return resp

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", render_metrics)
    if readiness is not None:
        app.router.add_get("/readyz", readyz)
    if keys is not None:
        add_key_routes(app, keys)
    return app
