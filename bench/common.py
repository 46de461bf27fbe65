"""What every part of the benchmark shares: where things are, the scenarios, and the
servers it starts (each in its own process group, all stopped at the end)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
PY = sys.executable
SESSION_COOKIE = "AWSELBAuthSessionCookie"
SESSION_SECRET = "bench-session-secret-0123456789-abcdefghijkl"
CLIENT_ID, CLIENT_SECRET = "albauth-bench", "albauth-bench-secret"
UPSTREAM_BODY = "ok\n"

# (key, label); the order is the order of every round. nginx is the baseline.
SCENARIOS: list[tuple[str, str]] = [
    ("upstream", "upstream direct (nginx return 200)"),
    ("nginx", "nginx pass-through [baseline]"),
    ("naive", "naive aiohttp proxy"),
    ("albauth", "albauth pass-through"),
    ("auth-cookie", "albauth + session, cookie store"),
    ("auth-memory", "albauth + session, memory store"),
    ("auth-redis", "albauth + session, redis store"),
    ("auth-cookie-w2", "albauth + session, cookie store, --workers 2"),
    ("auth-redis-w2", "albauth + session, redis store, --workers 2"),
    ("peer-cookie", "Apache + mod_auth_openidc, client-cookie sessions"),
    ("peer-redis", "Apache + mod_auth_openidc, Redis sessions"),
]
ALBAUTH_KEYS = ("albauth", "auth-cookie", "auth-memory", "auth-redis", "auth-cookie-w2", "auth-redis-w2")
PEER_KEYS = ("peer-cookie", "peer-redis")
BASELINE = "nginx"


class Processes:
    """Every server we start, each in its own session (process group), stopped in reverse."""

    def __init__(self, logdir: Path) -> None:
        self.logdir = logdir
        self.procs: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(self, name: str, argv: list[str], *, env: dict[str, str] | None = None,
              cpu: str | None = None, cwd: Path | None = None) -> subprocess.Popen[bytes]:
        if cpu is not None:
            argv = ["taskset", "-c", cpu, *argv]
        log = open(self.logdir / f"{name}.log", "wb")
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env=env, cwd=cwd or self.logdir, start_new_session=True)
        log.close()
        self.procs.append((name, proc))
        return proc

    def log_tail(self, name: str, lines: int = 20) -> str:
        try:
            text = (self.logdir / f"{name}.log").read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop_all(self) -> None:
        for _, proc in reversed(self.procs):
            signal_group(proc, signal.SIGTERM)
        deadline = time.monotonic() + 8
        for _, proc in reversed(self.procs):
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            signal_group(proc, signal.SIGKILL)  # the group may hold children (nginx workers)
            try:
                proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                pass
        self.procs.clear()


def signal_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)  # start_new_session: the group id is the leader's pid
    except (ProcessLookupError, PermissionError):
        pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, proc: subprocess.Popen[bytes], name: str, procs: Processes,
              timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with {proc.returncode}:\n{procs.log_tail(name)}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{name} did not listen on {port} within {timeout}s:\n{procs.log_tail(name)}")


def group_pids(pgid: int) -> list[int]:
    """The processes of a process group (field 5 of /proc/<pid>/stat), in pid order."""
    pids = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                stat = Path(f"/proc/{entry.name}/stat").read_text()
                if int(stat.rsplit(")", 1)[1].split()[2]) == pgid:
                    pids.append(int(entry.name))
            except (OSError, ValueError, IndexError):
                continue
    return sorted(pids)
