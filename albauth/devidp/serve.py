"""`albauth idp`: run the development provider on its own until cancelled."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from .settings import CognitoPool, IdpSettings, load_idp_settings

if TYPE_CHECKING:
    from albauth.clock import Clock

DEFAULT_POOL = CognitoPool()


def add_cognito_arguments(parser: argparse.ArgumentParser) -> None:
    """--cognito, --region, --user-pool-id: shared by `albauth idp` and `albauth dev`."""
    parser.add_argument("--cognito", action="store_true",
                        help="stand in for an Amazon Cognito user pool (hosted-domain paths, Cognito's tokens)")
    parser.add_argument("--region", default=DEFAULT_POOL.region,
                        help=f"the user pool's region, with --cognito (default {DEFAULT_POOL.region})")
    parser.add_argument("--user-pool-id", default=DEFAULT_POOL.pool_id,
                        help=f"the user pool's id, with --cognito (default {DEFAULT_POOL.pool_id})")


def cognito_pool(args: argparse.Namespace) -> CognitoPool | None:
    return CognitoPool(args.region, args.user_pool_id) if args.cognito else None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """`albauth idp`'s flags."""
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--users", metavar="FILE", help="users and clients YAML")
    add_cognito_arguments(parser)


def describe(settings: IdpSettings) -> str:
    """What a developer needs to point ALB settings at this provider and sign in."""
    lines = [f"albauth dev IdP: issuer {settings.issuer}",
             f"  discovery: {settings.issuer}/.well-known/openid-configuration"]
    if settings.cognito is not None:
        pool = settings.cognito
        lines[0] = (f"albauth dev IdP, standing in for Cognito user pool {pool.pool_id} ({pool.region}): "
                    f"issuer {settings.issuer}")
        lines.append(f"  user pool domain: {settings.hosted_domain}  (/oauth2/authorize, /oauth2/token, "
                     "/oauth2/userInfo, /login, /logout)")
    for c in settings.clients:
        lines.append(f"  client: {c.client_id} / secret {c.client_secret}")
    lines.append("  users (username / password, groups):")
    for u in settings.users:
        lines.append(f"    {u.username} / {u.password}  [{', '.join(u.groups)}]")
    return "\n".join(lines)


async def serve_idp(host: str, port: int, users_file: str | None, *,
                    cognito: CognitoPool | None = None, clock: Clock | None = None) -> None:
    # Listening on all interfaces still advertises a reachable issuer: 0.0.0.0 is not
    # an address a browser can follow a redirect to.
    public_host = "127.0.0.1" if host in ("0.0.0.0", "", "::") else host
    issuer = f"http://{public_host}:{port}"
    # aiohttp and authlib only when a provider runs: the flags above are built for every command.
    import asyncio

    from aiohttp import web

    from albauth.clock import system_clock

    from .provider import DevIdP

    settings = load_idp_settings(users_file, issuer, cognito=cognito)
    idp = DevIdP(settings, clock=clock or system_clock)
    runner = web.AppRunner(idp.app)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        print(describe(settings), flush=True)
        await asyncio.Event().wait()  # until the task is cancelled
    finally:
        await runner.cleanup()
