"""`albauth check-config --offline FILE`: check a configuration where it does not run (a CI
pipeline without the production secrets and certificates).

Everything is checked but the environment and the files the configuration names: the
environment is taken as empty (`${VAR:-default}` gets its default), and an unset `${VAR}`
or a missing certificate, key or CA file is a note (ConfigIssue.environmental), not an error."""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from albauth.config.errors import ConfigError, ConfigIssue
from albauth.config.load import load_file

__all__ = ["add_offline_option", "check_offline"]

EXIT_CONFIG = 2

OFFLINE_HELP = ("check without the environment and the files the configuration names: unset ${VAR} "
                "and missing files are notes, not errors (for CI)")

CHECK_EPILOG = """\
examples:
  albauth check-config albauth.yaml                      # as `albauth serve -c` would load it here
  ALBAUTH_SESSION_SECRET=... albauth check-config        # the ALBAUTH_* environment (no file)
  albauth check-config --offline deploy/albauth.yaml     # in CI: secrets and certificates absent

exit status: 0 valid (notes, if any, on stdout), 2 problems (each on stderr, with its key path)"""


def add_offline_option(check: argparse.ArgumentParser) -> None:
    check.add_argument("--offline", action="store_true", help=OFFLINE_HELP)
    check.epilog = CHECK_EPILOG
    check.formatter_class = argparse.RawDescriptionHelpFormatter


def check_offline(file: str | None) -> int:
    if not file:
        print("albauth: check-config --offline needs a FILE (without one, the environment is the configuration)",
              file=sys.stderr)
        return EXIT_CONFIG
    notes: list[ConfigIssue] = []
    try:
        settings = load_file(file, env={}, notes=notes)
    except ConfigError as exc:
        print(f"{len(exc.issues)} problem(s) in the configuration:", file=sys.stderr)
        for issue in exc.issues:
            print(f"  {issue}", file=sys.stderr)
        _print_notes(notes, sys.stderr)
        return EXIT_CONFIG
    rules = sum(len(lst.rules) for lst in settings.listeners)
    print(f"{settings.source}: OK offline ({len(settings.listeners)} listener(s), {rules} rule(s)); "
          f"{len(notes)} note(s) for where it runs")
    _print_notes(notes, sys.stdout)
    return 0


def _print_notes(notes: list[ConfigIssue], stream: TextIO) -> None:
    for note in notes:
        print(f"  note: {note}", file=stream)
