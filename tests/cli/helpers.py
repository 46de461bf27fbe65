"""Running `albauth` from async tests, and the real ALB token fixture."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tests.support import REPO, clean_env

# The same file as /work/shared/fixtures/real-alb-token.json, kept with the signing tests.
REAL_ALB_TOKEN = REPO / "tests" / "signing" / "real-alb-token.json"


def real_alb_token() -> dict[str, Any]:
    """A real x-amzn-oidc-data value from an ALB, with the PEM its key endpoint served."""
    data: dict[str, Any] = json.loads(REAL_ALB_TOKEN.read_text())
    return data


def albauth_sync(*args: str, env: Mapping[str, str] | None = None,
                 stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "albauth", *args], env=clean_env(env), cwd=REPO, input=stdin,
                          capture_output=True, text=True, timeout=60)


async def albauth_cli(*args: str, env: Mapping[str, str] | None = None,
                      stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """`albauth ...` as a process, off the event loop (the servers it talks to run on it)."""
    return await asyncio.to_thread(albauth_sync, *args, env=env, stdin=stdin)


def write(path: Path, text: str) -> str:
    path.write_text(text)
    return str(path)
