"""The built-in provider for the soak, in its own process, with a control port.

`POST /stop` closes the provider's listener and its connections (an outage: connections are
refused), `POST /start` listens again on the same port; the provider's database (refresh
tokens, keys) lives on, as a real provider's does across a restart. `GET /grants` counts the
token endpoint's grants and the duplicate refreshes: a refresh_token grant for a refresh
token that was already granted less than `--duplicate-window` seconds before (each session
should refresh once per access-token lifetime, whichever replica does it)."""

from __future__ import annotations

import argparse
import asyncio
import time
from collections import Counter

from aiohttp import web

from albauth.devidp import DevIdP, load_idp_settings


class Grants:
    """Reads the provider's event list as it grows, stamping each new event with the time."""

    def __init__(self, idp: DevIdP, window: float) -> None:
        self.idp = idp
        self.window = window
        self.by_type: Counter[str] = Counter()
        self.failed: Counter[str] = Counter()
        self.last_refresh: dict[str, float] = {}
        self.duplicates = 0

    def poll(self) -> None:
        now = time.monotonic()
        events = self.idp.events
        for event in events:
            if event.endpoint != "token":
                continue
            grant = event.grant_type or "none"
            if event.status != 200:
                self.failed[grant] += 1
                continue
            self.by_type[grant] += 1
            if grant == "refresh_token":
                token = event.params.get("refresh_token", "")
                before = self.last_refresh.get(token)
                if before is not None and now - before < self.window:
                    self.duplicates += 1
                self.last_refresh[token] = now
        del events[:]  # the provider keeps every event: the soak only needs the counts (no await above)

    def summary(self) -> dict[str, object]:
        self.poll()
        return {"grants": dict(self.by_type), "failed": dict(self.failed), "duplicate_refreshes": self.duplicates,
                "refresh_tokens_used": len(self.last_refresh)}


async def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--control", type=int, required=True)
    p.add_argument("--users", required=True)
    p.add_argument("--duplicate-window", type=float, default=15.0)
    args = p.parse_args()
    settings = load_idp_settings(args.users, f"http://127.0.0.1:{args.port}")
    idp = DevIdP(settings)
    grants = Grants(idp, args.duplicate_window)
    runner = web.AppRunner(idp.app, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    site: web.TCPSite | None = web.TCPSite(runner, "127.0.0.1", args.port, reuse_address=True)
    await site.start()

    async def stop(_: web.Request) -> web.Response:
        nonlocal site
        grants.poll()
        if site is not None:
            await site.stop()
            for conn in list(runner.server.connections) if runner.server else []:
                conn.force_close()
            site = None
        return web.Response(text="stopped")

    async def start(_: web.Request) -> web.Response:
        nonlocal site
        if site is None:
            site = web.TCPSite(runner, "127.0.0.1", args.port, reuse_address=True)
            await site.start()
        return web.Response(text="started")

    async def summary(_: web.Request) -> web.Response:
        return web.json_response(grants.summary())

    control = web.Application()
    control.router.add_post("/stop", stop)
    control.router.add_post("/start", start)
    control.router.add_get("/grants", summary)
    crunner = web.AppRunner(control, access_log=None)
    await crunner.setup()
    await web.TCPSite(crunner, "127.0.0.1", args.control).start()
    while True:
        await asyncio.sleep(0.25)
        grants.poll()


if __name__ == "__main__":
    asyncio.run(main())
