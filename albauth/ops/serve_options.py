"""The operations options of `albauth serve`: the access log and the config file watch.
cli.py only wires them in."""

from __future__ import annotations

import argparse
from dataclasses import replace

from albauth.config.model import Settings

__all__ = ["add_serve_options", "apply_serve_options", "serve_option_argv"]


def add_serve_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--access-log", choices=("alb", "json", "off"), metavar="FORMAT",
                        help="ALB's access log: alb (ALB's line format), json (the same fields as JSON lines) "
                             "or off; overrides albauth.access_log.format (default: off, as on ALB)")
    parser.add_argument("--access-log-file", metavar="FILE",
                        help="write the access log to FILE (default: stdout); reopened on SIGUSR1 for "
                             "logrotate; alone, it turns the alb format on")
    parser.add_argument("--watch", action="store_true",
                        help="reload when the --config file changes, as on SIGHUP")


def apply_serve_options(settings: Settings, args: argparse.Namespace) -> Settings:
    fmt, file = getattr(args, "access_log", None), getattr(args, "access_log_file", None)
    if fmt is None and file is None:
        return settings
    current = settings.access_log
    if fmt is None:
        fmt = current.format if current.format != "off" else "alb"
    return replace(settings, access_log=replace(current, format=fmt, file=file if file is not None else current.file))


def serve_option_argv(args: argparse.Namespace) -> list[str]:
    """The options again, for the worker processes `--workers` starts."""
    argv = ["--config", args.config] if args.config else []
    if getattr(args, "access_log", None):
        argv += ["--access-log", args.access_log]
    if getattr(args, "access_log_file", None):
        argv += ["--access-log-file", args.access_log_file]
    if getattr(args, "watch", False):
        argv.append("--watch")
    return argv
