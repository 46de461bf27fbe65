"""Private redis-server processes for the tests, and the Redis store's conformance case.

Tests never touch a Redis they did not start (a developer's 6379 holds real data): each
`RedisServer` is a `redis-server` child on a free loopback port, without persistence
unless asked, that dies with the test process even if pytest is killed.
"""

from __future__ import annotations

import atexit
import ctypes
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from albauth.clock import FakeClock
from albauth.session import Sealer, SessionStore
from albauth.session.redis_store import RedisSessionStore

from .conformance import StoreCase

REDIS_SERVER = os.environ.get("ALBAUTH_TEST_REDIS_SERVER") or shutil.which("redis-server") \
    or "/usr/bin/redis-server"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def die_with_parent() -> None:
    # PR_SET_PDEATHSIG: the kernel kills redis-server when pytest goes, however it goes.
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


class RedisServer:
    """`redis-server` on 127.0.0.1:`port`; stop() and start() again keep the port (and,
    with `persist=True`, the append-only file in `dir`)."""

    def __init__(self, *, persist: bool = False, port: int | None = None,
                 extra: tuple[str, ...] = ()) -> None:
        if not Path(REDIS_SERVER).exists():
            pytest.skip(f"no redis-server at {REDIS_SERVER}")
        self.port = port or free_port()
        self.dir = tempfile.mkdtemp(prefix="albauth-redis-")
        self.persist = persist
        self.extra = extra
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        args = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1",
                "--dir", self.dir, "--save", "", "--daemonize", "no", "--loglevel", "warning",
                "--appendonly", "yes" if self.persist else "no", *self.extra]
        if self.persist:  # every write on disk before the reply: a kill loses nothing
            args += ["--appendfsync", "always"]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     preexec_fn=die_with_parent)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.proc.returncode}")
            if self._ping():
                return self
            time.sleep(0.01)
        self.stop()
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)  # in case a test paused it
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def pause(self) -> None:
        """SIGSTOP: the port still accepts connections but nothing answers (a hung Redis)."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def _ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith((b"+PONG", b"-NOAUTH"))  # up either way
        except OSError:
            return False


_shared: RedisServer | None = None


def shared_redis() -> RedisServer:
    """One server for the whole test process, started on first use. Tests sharing it
    keep apart by key prefix."""
    global _shared
    if _shared is None:
        _shared = RedisServer().start()
        atexit.register(_shared.close)
    return _shared


def unique_prefix() -> str:
    return f"t{secrets.token_hex(6)}:"


async def redis_store(sealer: Sealer, clock: FakeClock) -> SessionStore:
    return RedisSessionStore.from_url(shared_redis().url, sealer=sealer, clock=clock,
                                      key_prefix=unique_prefix())


REDIS_CASE = StoreCase("redis", redis_store, server_side=True)
