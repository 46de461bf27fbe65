"""`albauth serve --workers N`: N worker processes on the same listener ports (SO_REUSEPORT:
the kernel spreads new connections over them), sharing nothing but what Redis shares.

The parent only supervises: it starts each worker as a fresh `python -m albauth serve`
(the same configuration, each its own Runtime), forwards SIGTERM/SIGINT (every worker
drains its in-flight requests, then exits) and SIGHUP, restarts a worker that died, and
runs the one admin listener. Each worker runs its own admin listener on an ephemeral
loopback port and tells the parent where (a small JSON file): the parent's `/metrics` is
the sum of the workers' (each sample added up by name and labels), every other admin path
is answered by a live worker (signing keys and health are the same in every worker).

Refused: the memory store (its sessions would live in one worker and be unknown to the
others), and authentication with per-process signing keys (no key file, no Redis: each
worker would sign with a key the others do not serve).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import web

if TYPE_CHECKING:
    from albauth.app import Runtime
    from albauth.config.model import Settings

__all__ = ["WORKER_STATE_ENV", "parse_workers", "refusal", "run_workers", "worker_settings", "announce_worker"]

log = logging.getLogger("albauth.workers")

# Set by the parent in each worker's environment: where the worker writes its admin URL.
# Not an ALBAUTH_* name: those are configuration (albauth.config.env).
WORKER_STATE_ENV = "_ALBAUTH_WORKER_STATE"
DRAIN_TIMEOUT = 40.0  # a worker's own drain is bounded at 30 s (albauth.app)
RESTART_DELAY = 1.0


def parse_workers(text: str) -> int:
    """`auto` = the CPUs this process may run on; else a positive integer."""
    if text == "auto":
        return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    count = int(text)
    if count < 1:
        raise ValueError("--workers must be at least 1")
    return count


def refusal(settings: Settings, count: int) -> str | None:
    """Why this configuration cannot run in `count` workers, or None."""
    if count <= 1:
        return None
    if settings.session.store == "memory":
        return ("--workers > 1 needs a session store the workers share: the memory store keeps "
                "sessions in one process, unknown to the others (use the cookie or Redis store)")
    authenticates = any(lst.has_authenticate for lst in settings.listeners)
    if authenticates and not settings.signing.key_file and settings.session.store != "redis":
        return ("--workers > 1 needs signing keys the workers share: set albauth.signing.key_file "
                "(ALBAUTH_SIGNING_KEY_FILE) or use the Redis store, which shares them")
    return None


# --- in a worker -------------------------------------------------------------------------


def worker_settings(settings: Settings) -> tuple[Settings, bool]:
    """In a worker: its admin listener on an ephemeral loopback port (the parent's is the
    one operators see); SO_REUSEPORT on the listeners. Outside one: unchanged."""
    if WORKER_STATE_ENV not in os.environ:
        return settings, False
    return replace(settings, admin_listen=("127.0.0.1", 0)), True


def announce_worker(runtime: Runtime) -> None:
    """In a worker, once listening: a per-worker request count (the parent's sum keeps the
    `pid` label apart) and the admin URL, for the parent."""
    state = os.environ.get(WORKER_STATE_ENV)
    if state is None:
        return
    runtime.metrics.registry.register(_WorkerCollector(runtime))
    admin = runtime.urls[-1]  # the admin listener starts last (albauth.app.Runtime.start)
    tmp = Path(state + ".tmp")
    tmp.write_text(json.dumps({"pid": os.getpid(), "admin": admin}))
    tmp.replace(state)


class _WorkerCollector:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily

        family = CounterMetricFamily("albauth_worker_requests", "requests this worker process answered",
                                     labels=["pid"])
        family.add_metric([str(os.getpid())], float(self.runtime.requests_served))
        yield family


# --- in the parent -----------------------------------------------------------------------


@dataclass
class _Worker:
    index: int
    state: Path
    proc: asyncio.subprocess.Process | None = None
    restarts: int = 0

    def admin(self) -> str | None:
        try:
            return str(json.loads(self.state.read_text())["admin"])
        except (OSError, ValueError, KeyError):
            return None


@dataclass
class _Supervisor:
    args: Sequence[str]  # `serve` and its options, for each worker
    workers: list[_Worker]
    stopping: bool = False
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def spawn(self, worker: _Worker) -> None:
        worker.state.unlink(missing_ok=True)
        env = {**os.environ, WORKER_STATE_ENV: str(worker.state)}
        worker.proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "albauth", *self.args, env=env)
        log.info("worker %d started (pid %d)", worker.index, worker.proc.pid)

    async def keep(self, worker: _Worker) -> None:
        """Restart a worker that exits while the parent is not stopping."""
        while True:
            assert worker.proc is not None
            code = await worker.proc.wait()
            if self.stopping:
                return
            worker.restarts += 1
            log.error("worker %d (pid %d) exited with %s; restarting it", worker.index, worker.proc.pid, code)
            await asyncio.sleep(RESTART_DELAY)
            if self.stopping:
                return
            await self.spawn(worker)

    def signal_all(self, sig: signal.Signals) -> None:
        for worker in self.workers:
            if worker.proc is not None and worker.proc.returncode is None:
                worker.proc.send_signal(sig)

    async def drain(self) -> int:
        self.stopping = True
        self.signal_all(signal.SIGTERM)
        procs = [w.proc for w in self.workers if w.proc is not None]
        try:
            async with asyncio.timeout(DRAIN_TIMEOUT):
                codes = [await p.wait() for p in procs]
        except TimeoutError:
            log.error("workers still running %g s after SIGTERM: killed", DRAIN_TIMEOUT)
            self.signal_all(signal.SIGKILL)
            codes = [await p.wait() for p in procs]
        for task in self.tasks:
            task.cancel()
        return 0 if all(code == 0 for code in codes) else 1


def run_workers(serve_args: Sequence[str], settings: Settings, count: int) -> int:
    """The parent of `count` workers, until SIGTERM/SIGINT; 0 when every worker drained."""
    from albauth.server import install_uvloop

    install_uvloop()
    statedir = Path(tempfile.mkdtemp(prefix="albauth-workers-"))
    try:
        return asyncio.run(_supervise(serve_args, settings, count, statedir))
    finally:
        shutil.rmtree(statedir, ignore_errors=True)


async def _supervise(serve_args: Sequence[str], settings: Settings, count: int, statedir: Path) -> int:
    sup = _Supervisor(serve_args, [_Worker(i, statedir / f"worker-{i}.json") for i in range(count)])
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loop.add_signal_handler(signal.SIGHUP, sup.signal_all, signal.SIGHUP)
    for worker in sup.workers:
        await sup.spawn(worker)
    sup.tasks = [asyncio.create_task(sup.keep(w)) for w in sup.workers]
    admin: web.AppRunner | None = None
    if settings.admin_listen is not None:
        admin = await _start_admin(sup, *settings.admin_listen)
    log.info("%d workers running", count)
    try:
        await stop.wait()
    finally:
        log.info("shutting down: every worker finishes its in-flight requests")
        code = await sup.drain()
        if admin is not None:
            await admin.cleanup()
    return code


async def _start_admin(sup: _Supervisor, host: str, port: int) -> web.AppRunner:
    from albauth.worker_metrics import sum_metrics

    client = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5))

    async def admins() -> list[str]:
        return [url for url in (w.admin() for w in sup.workers) if url is not None]

    async def metrics(_: web.Request) -> web.Response:
        texts = []
        for url in await admins():
            try:
                async with client.get(url + "/metrics") as resp:
                    texts.append(await resp.text())
            except (aiohttp.ClientError, TimeoutError):
                continue  # a worker restarting: the others still count
        body, content_type = sum_metrics(texts)
        return web.Response(body=body, headers={"Content-Type": content_type})

    async def passthrough(request: web.Request) -> web.Response:
        for url in await admins():
            try:
                async with client.request(request.method, url + request.path_qs) as resp:
                    body = await resp.read()
                    return web.Response(status=resp.status, body=body,
                                        headers={"Content-Type": resp.headers.get("Content-Type",
                                                                                  "application/octet-stream")})
            except (aiohttp.ClientError, TimeoutError):
                continue
        return web.json_response({"status": "no worker is up"}, status=503)

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    app.router.add_route("*", "/{tail:.*}", passthrough)

    async def close_client(_: web.Application) -> None:
        await client.close()

    app.on_cleanup.append(close_client)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner
