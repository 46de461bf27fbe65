"""The soak's target: answers every request with a few bytes and counts, per path kind,
requests with and without albauth's identity headers (every path is authenticated in the
soak, so "without" must stay 0). `GET /__soak/stats` (asked directly, not through albauth)
returns the counts."""

from __future__ import annotations

import argparse
from collections import Counter

from aiohttp import web

IDENTITY = ("x-amzn-oidc-identity", "x-amzn-oidc-data", "x-amzn-oidc-accesstoken")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    args = p.parse_args()
    counts: Counter[str] = Counter()
    missing_examples: list[str] = []

    async def stats(_: web.Request) -> web.Response:
        return web.json_response({"counts": dict(counts), "missing_examples": missing_examples})

    async def page(request: web.Request) -> web.Response:
        headers = request.headers
        if all(headers.get(h) for h in IDENTITY):
            counts["with_identity"] += 1
        else:
            counts["without_identity"] += 1
            if len(missing_examples) < 20:
                missing_examples.append(f"{request.method} {request.path_qs} {sorted(headers)}")
        return web.Response(text="ok\n")

    app = web.Application()
    app.router.add_get("/__soak/stats", stats)
    app.router.add_route("*", "/{tail:.*}", page)
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    web.run_app(app, host="127.0.0.1", port=args.port, access_log=None, print=None, backlog=4096)


if __name__ == "__main__":
    main()
