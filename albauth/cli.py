"""The `albauth` command line."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from typing import Awaitable, Callable, Sequence

from albauth import __version__
from albauth.config.errors import ConfigError

EXIT_CONFIG = 2


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="albauth", description="AWS ALB authentication, anywhere.")
    p.add_argument("--version", action="version", version=f"albauth {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the proxy (from --config FILE, else from ALBAUTH_* variables)")
    serve.add_argument("--config", "-c", metavar="FILE", help="YAML configuration file")

    check = sub.add_parser("check-config", help="validate a configuration file and exit (2 on errors)")
    check.add_argument("file", nargs="?", help="YAML file; without it, the ALBAUTH_* environment")

    dev = sub.add_parser("dev", help="provider + albauth + demo app on loopback: ALB auth with zero setup")
    dev.add_argument("--port", type=int, default=8080, help="albauth's listener (default 8080)")
    dev.add_argument("--idp-port", type=int, default=9000, help="built-in provider (default 9000)")
    dev.add_argument("--app-port", type=int, default=8081, help="demo app (default 8081)")
    dev.add_argument("--admin-port", type=int, default=9901, help="admin/key endpoint (default 9901)")
    dev.add_argument("--users", metavar="FILE", help="users and clients YAML for the provider")
    dev.add_argument("--upstream", metavar="URL", help="put your own app behind albauth instead of the demo")
    dev.add_argument("--session-timeout", type=int, default=604800, help="SessionTimeout seconds")

    idp = sub.add_parser("idp", help="run only the built-in OpenID provider")
    idp.add_argument("--host", default="127.0.0.1")
    idp.add_argument("--port", type=int, default=9000)
    idp.add_argument("--users", metavar="FILE", help="users and clients YAML")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "check-config":
        return _check_config(args.file)
    if args.command == "serve":
        return _serve(args.config)
    if args.command == "dev":
        from albauth.devmode import run_dev

        return _run(lambda stop: run_dev(args, stop), "INFO")
    if args.command == "idp":
        from albauth.devidp.serve import serve_idp

        return _run(lambda stop: _until(serve_idp(args.host, args.port, args.users), stop), "INFO")
    return 1


def load_settings(config: str | None):  # type: ignore[no-untyped-def]
    from albauth.config.env import load_env
    from albauth.config.load import load_file

    return load_file(config) if config else load_env(os.environ)


def _check_config(file: str | None) -> int:
    try:
        settings = load_settings(file)
    except ConfigError as exc:
        print(f"{len(exc.issues)} problem(s) in the configuration:", file=sys.stderr)
        for issue in exc.issues:
            print(f"  {issue}", file=sys.stderr)
        return EXIT_CONFIG
    rules = sum(len(lst.rules) for lst in settings.listeners)
    print(f"{settings.source}: OK ({len(settings.listeners)} listener(s), {rules} rule(s))")
    return 0


def _serve(config: str | None) -> int:
    try:
        settings = load_settings(config)
    except ConfigError as exc:
        for issue in exc.issues:
            print(f"albauth: {issue}", file=sys.stderr)
        return EXIT_CONFIG

    async def serve(stop: asyncio.Event) -> None:
        from albauth.app import Runtime

        runtime = Runtime(settings)
        await runtime.start()
        for url in runtime.urls:
            logging.getLogger("albauth").info("listening on %s", url)
        try:
            await stop.wait()
        finally:
            logging.getLogger("albauth").info("shutting down: finishing in-flight requests")
            await runtime.stop()

    return _run(serve, settings.log_level)


def _run(main_coro: Callable[[asyncio.Event], Awaitable[None]], level: str) -> int:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from albauth.app import install_uvloop

    install_uvloop()

    async def runner() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await main_coro(stop)

    try:
        asyncio.run(runner())
    except ConfigError as exc:
        for issue in exc.issues:
            print(f"albauth: {issue}", file=sys.stderr)
        return EXIT_CONFIG
    except OSError as exc:
        print(f"albauth: {exc}", file=sys.stderr)
        return 1
    return 0


async def _until(coro: Awaitable[None], stop: asyncio.Event) -> None:
    task = asyncio.ensure_future(coro)
    stopper = asyncio.ensure_future(stop.wait())
    await asyncio.wait([task, stopper], return_when=asyncio.FIRST_COMPLETED)
    task.cancel()
    stopper.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass
