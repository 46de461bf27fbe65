"""`albauth idp`: run the development provider on its own until cancelled."""

from __future__ import annotations

import asyncio

from aiohttp import web

from albauth.clock import Clock, system_clock

from .provider import DevIdP
from .settings import IdpSettings, load_idp_settings


def describe(settings: IdpSettings) -> str:
    """What a developer needs to point ALB settings at this provider and sign in."""
    lines = [f"albauth dev IdP: issuer {settings.issuer}",
             f"  discovery: {settings.issuer}/.well-known/openid-configuration"]
    for c in settings.clients:
        lines.append(f"  client: {c.client_id} / secret {c.client_secret}")
    lines.append("  users (username / password, groups):")
    for u in settings.users:
        lines.append(f"    {u.username} / {u.password}  [{', '.join(u.groups)}]")
    return "\n".join(lines)


async def serve_idp(host: str, port: int, users_file: str | None, *,
                    clock: Clock = system_clock) -> None:
    # Listening on all interfaces still advertises a reachable issuer: 0.0.0.0 is not
    # an address a browser can follow a redirect to.
    public_host = "127.0.0.1" if host in ("0.0.0.0", "", "::") else host
    issuer = f"http://{public_host}:{port}"
    settings = load_idp_settings(users_file, issuer)
    idp = DevIdP(settings, clock=clock)
    runner = web.AppRunner(idp.app)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        print(describe(settings), flush=True)
        await asyncio.Event().wait()  # until the task is cancelled
    finally:
        await runner.cleanup()
