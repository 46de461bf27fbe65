"""The `albauth` command line."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence

from albauth import __version__
from albauth.config.errors import ConfigError
from albauth.config.model import Settings
from albauth.ops.check_offline import add_offline_option, check_offline
from albauth.ops.import_rules_command import register_import_rules
from albauth.ops.keys_file import register_keys_file_commands
from albauth.ops.verify_token import register_verify_token

EXIT_CONFIG = 2


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="albauth", description="AWS ALB authentication, anywhere.")
    p.add_argument("--version", action="version", version=f"albauth {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the proxy (from --config FILE, else from ALBAUTH_* variables)")
    serve.add_argument("--config", "-c", metavar="FILE", help="YAML configuration file")
    from albauth.ops.serve_options import add_serve_options

    add_serve_options(serve)
    serve.add_argument("--workers", default="1", metavar="N",
                       help="worker processes sharing the listener ports (default 1; 'auto' = CPU count)")

    check = sub.add_parser("check-config", help="validate a configuration file and exit (2 on errors)")
    check.add_argument("file", nargs="?", help="YAML file; without it, the ALBAUTH_* environment")
    add_offline_option(check)

    from albauth.devmode_options import add_arguments as add_dev_arguments

    add_dev_arguments(sub.add_parser("dev", help="provider + albauth + demo app on loopback: ALB auth with zero setup"))
    from albauth.devidp.serve import add_arguments as add_idp_arguments

    add_idp_arguments(sub.add_parser("idp", help="run only the built-in OpenID provider"))

    sessions = sub.add_parser("sessions", help="list or revoke sessions in the Redis store")
    sessions_sub = sessions.add_subparsers(dest="action", required=True)
    listing = sessions_sub.add_parser("list", help="sessions (all, or one user's): no claims, no tokens")
    listing.add_argument("--sub", help="only this user's (the provider's sub)")
    revoking = sessions_sub.add_parser("revoke", help="end sessions on every replica; prints how many")
    which = revoking.add_mutually_exclusive_group(required=True)
    which.add_argument("--sub", help="every session of this user")
    which.add_argument("--sid", help="one session, by albauth's session id (see `sessions list`)")
    which.add_argument("--idp-sid", help="the sessions of one provider session (its `sid` claim)")
    keys = sub.add_parser("keys", help="x-amzn-oidc-data signing keys: a key file (generate, show), "
                                       "the ring in Redis (rotate, list)")
    keys_sub = keys.add_subparsers(dest="action", required=True)
    rotate = keys_sub.add_parser("rotate", help="publish a new key now; it signs after --delay seconds")
    rotate.add_argument("--delay", type=float, default=None,
                        help="seconds until the new key signs (default 120: 2 refresh intervals)")
    keys_sub.add_parser("list", help="kids, when each signs, which one signs now")
    for cmd in (listing, revoking, *keys_sub.choices.values()):
        cmd.add_argument("--redis", metavar="URL", default=_env_redis_url(),
                         help="the session store's URL (default: ALBAUTH_SESSION_STORE if a Redis URL)")
        cmd.add_argument("--prefix", default="albauth:", help="albauth.session.key_prefix (albauth:)")
    for cmd in keys_sub.choices.values():
        cmd.add_argument("--secret", action="append", metavar="SECRET",
                         help="a session secret (repeat for several; default: ALBAUTH_SESSION_SECRET)")
    register_keys_file_commands(keys_sub)
    register_verify_token(sub)
    register_import_rules(sub)
    return p


def _env_redis_url() -> str | None:
    store = os.environ.get("ALBAUTH_SESSION_STORE", "")
    return store if store.startswith(("redis", "unix://")) else None


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if "run" in args:  # a subcommand whose module runs it (it registered itself with set_defaults)
        return _run_command(args)
    if args.command == "check-config":
        return check_offline(args.file) if args.offline else _check_config(args.file)
    if args.command == "serve":
        return _serve(args)
    if args.command == "dev":
        from albauth.devmode import run_dev

        return _run(lambda stop: run_dev(args, stop), "INFO")
    if args.command == "idp":
        from albauth.devidp.serve import cognito_pool, serve_idp

        pool = cognito_pool(args)
        return _run(lambda stop: _until(serve_idp(args.host, args.port, args.users, cognito=pool), stop), "INFO")
    if args.command in ("sessions", "keys"):
        from albauth.ops.redis_commands import run_redis_command

        return run_redis_command(args)
    return 1


def _run_command(args: argparse.Namespace) -> int:
    run: Callable[[argparse.Namespace], int] = args.run
    return run(args)


def load_settings(config: str | None) -> Settings:
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


def _serve(args: argparse.Namespace) -> int:
    from albauth.ops.serve_options import apply_serve_options, serve_option_argv
    from albauth.workers import announce_worker, parse_workers, refusal, run_workers, worker_settings

    config = args.config
    try:
        settings = apply_serve_options(load_settings(config), args)
        count = parse_workers(args.workers)
    except ConfigError as exc:
        for issue in exc.issues:
            print(f"albauth: {issue}", file=sys.stderr)
        return EXIT_CONFIG
    except ValueError as exc:
        print(f"albauth: --workers: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    if (refused := refusal(settings, count)) is not None:
        print(f"albauth: {refused}", file=sys.stderr)
        return EXIT_CONFIG
    if count > 1:
        logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        return run_workers(["serve", *serve_option_argv(args)], settings, count)
    settings, in_worker = worker_settings(settings)

    async def serve(stop: asyncio.Event) -> None:
        from albauth.app import Runtime
        from albauth.ops.reload import Operations

        runtime = Runtime(settings, reuse_port=in_worker)
        await runtime.start()
        announce_worker(runtime)
        for url in runtime.urls:
            logging.getLogger("albauth").info("listening on %s", url)
        operations = Operations(runtime, lambda: apply_serve_options(load_settings(config), args),
                                watch=config if args.watch else None)
        operations.start()
        try:
            await stop.wait()
        finally:
            operations.close()
            logging.getLogger("albauth").info("shutting down: finishing in-flight requests")
            await runtime.stop()

    return _run(serve, settings.log_level)


def _run(main_coro: Callable[[asyncio.Event], Awaitable[None]], level: str) -> int:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from albauth.server import install_uvloop, raise_open_files_limit

    install_uvloop()
    raise_open_files_limit()

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
