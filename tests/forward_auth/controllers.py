"""The ingress controllers in front of albauth, started privately: each on an ephemeral
port with its config, pid and log under the test's tmp_path, from the example configs in
deploy/forward-auth/ with only their ports and paths changed."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from aiohttp.test_utils import unused_port

from tests.support import REPO

EXAMPLES = REPO / "deploy" / "forward-auth"
# The ports the examples use, replaced by the test's.
EXAMPLE_ALBAUTH = "127.0.0.1:4180"
EXAMPLE_APP = "127.0.0.1:8080"

NGINX_MAIN = """
daemon off;
master_process off;
pid {d}/nginx.pid;
error_log {d}/error.log info;
events {{ worker_connections 64; }}
http {{
  access_log {d}/access.log;
  client_body_temp_path {d}/tmp; proxy_temp_path {d}/tmp; fastcgi_temp_path {d}/tmp;
  uwsgi_temp_path {d}/tmp; scgi_temp_path {d}/tmp;
  include {d}/forward-auth.conf;
}}
"""


def example(name: str, *, albauth: str, app: str) -> str:
    text = (EXAMPLES / name).read_text()
    assert EXAMPLE_ALBAUTH in text and EXAMPLE_APP in text, name
    return text.replace(EXAMPLE_ALBAUTH, albauth).replace(EXAMPLE_APP, app)


async def _wait_for_port(proc: subprocess.Popen[bytes], port: int) -> bool:
    for _ in range(250):
        if proc.poll() is not None:
            return False
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.02)
            continue
        writer.close()
        return True
    return False


@asynccontextmanager
async def _serve(d: Path, write_config: Callable[[int], list[str]], log: Path,
                 env: dict[str, str] | None = None) -> AsyncIterator[str]:
    for _ in range(3):  # another process may take the port between unused_port() and bind
        port = unused_port()
        command = write_config(port)
        with open(d / "stdout.log", "ab") as out:
            proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=d, env=env)
        if await _wait_for_port(proc, port):
            try:
                yield f"http://127.0.0.1:{port}"
            finally:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            return
        proc.kill()
        proc.wait()
    logs = log.read_text() if log.exists() else ""
    raise AssertionError(f"{command[0]} did not start: {logs}{(d / 'stdout.log').read_text()}")


@asynccontextmanager
async def nginx(d: Path, *, albauth: str, app: str) -> AsyncIterator[str]:
    """nginx with deploy/forward-auth/nginx.conf; yields its base URL."""
    if shutil.which("nginx") is None:
        pytest.skip("nginx is not installed (scripts/bootstrap --test installs nginx-light)")
    (d / "tmp").mkdir(parents=True)

    def write(port: int) -> list[str]:
        conf = example("nginx.conf", albauth=albauth, app=app)
        (d / "forward-auth.conf").write_text(conf.replace("listen 80;", f"listen 127.0.0.1:{port};"))
        (d / "nginx.conf").write_text(NGINX_MAIN.format(d=d))
        return ["nginx", "-p", str(d), "-e", str(d / "error.log"), "-c", str(d / "nginx.conf")]

    async with _serve(d, write, d / "error.log") as url:
        yield url


@asynccontextmanager
async def caddy(d: Path, *, albauth: str, app: str) -> AsyncIterator[str]:
    """Caddy with deploy/forward-auth/Caddyfile; yields its base URL."""
    if shutil.which("caddy") is None:
        pytest.skip("caddy is not installed (scripts/bootstrap --test installs it with apt)")
    d.mkdir(parents=True)

    def write(port: int) -> list[str]:
        conf = example("Caddyfile", albauth=albauth, app=app)
        conf = conf.replace("http://app.example.com", f"http://:{port}")
        (d / "Caddyfile").write_text("{\n\tadmin off\n}\n" + conf)
        return ["caddy", "run", "--config", str(d / "Caddyfile"), "--adapter", "caddyfile"]

    # Caddy's own state (autosave, certificates, locks) stays under the test's directory.
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(d), "XDG_DATA_HOME": str(d / "data"),
           "XDG_CONFIG_HOME": str(d / "config")}
    async with _serve(d, write, d / "stdout.log", env) as url:
        yield url
