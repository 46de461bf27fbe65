"""`albauth serve --workers N` as a real process tree over loopback: SO_REUSEPORT spreads
connections over the workers, the one admin listener sums their metrics, SIGTERM drains
every worker."""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
import sys
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import unused_port

from tests.support import REPO, clean_env, run_albauth

WORKER_REQUESTS = re.compile(r'^albauth_worker_requests_total\{pid="(\d+)"\} ([0-9.e+]+)$', re.M)
STARTUP = 60.0  # a busy 2-core machine starts a Python worker in seconds


class SlowUpstream:
    def __init__(self) -> None:
        self.slow_started = asyncio.Event()
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> None:
        async def fast(_: web.Request) -> web.Response:
            return web.Response(text="ok")

        async def slow(_: web.Request) -> web.Response:
            self.slow_started.set()
            await asyncio.sleep(2.0)
            return web.Response(text="slow ok")

        app = web.Application()
        app.router.add_get("/slow", slow)
        app.router.add_get("/{tail:.*}", fast)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        port = unused_port()
        await web.TCPSite(self.runner, "127.0.0.1", port).start()
        self.url = f"http://127.0.0.1:{port}"


@pytest.fixture
async def slow_upstream() -> AsyncIterator[SlowUpstream]:
    up = SlowUpstream()
    await up.start()
    yield up
    assert up.runner is not None
    await up.runner.cleanup()


async def worker_counts(client: aiohttp.ClientSession, admin: str) -> dict[str, float]:
    try:
        async with client.get(admin + "/metrics") as resp:
            text = await resp.text()
    except aiohttp.ClientError:
        return {}
    return {pid: float(n) for pid, n in WORKER_REQUESTS.findall(text)}


async def test_two_workers_share_the_port_and_sigterm_drains_an_in_flight_request(
        slow_upstream: SlowUpstream) -> None:
    port, admin_port = unused_port(), unused_port()
    admin = f"http://127.0.0.1:{admin_port}"
    env = clean_env({"ALBAUTH_UPSTREAM": slow_upstream.url, "ALBAUTH_LISTEN": f"127.0.0.1:{port}",
                     "ALBAUTH_ADMIN_LISTEN": f"127.0.0.1:{admin_port}"})
    proc = subprocess.Popen([sys.executable, "-m", "albauth", "serve", "--workers", "2"], env=env, cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        async with aiohttp.ClientSession() as client:
            async with asyncio.timeout(STARTUP):  # both workers listening and known to the parent
                while len(await worker_counts(client, admin)) < 2:
                    assert proc.poll() is None, proc.communicate()[0]
                    await asyncio.sleep(0.2)
            for i in range(40):  # a new connection each: the kernel picks a worker per connection
                async with client.get(f"http://127.0.0.1:{port}/r{i}", headers={"Connection": "close"}) as resp:
                    assert resp.status == 200
            counts = await worker_counts(client, admin)
            assert len(counts) == 2 and all(n > 0 for n in counts.values()), counts
            assert sum(counts.values()) == 40

            in_flight = asyncio.ensure_future(client.get(f"http://127.0.0.1:{port}/slow"))
            await asyncio.wait_for(slow_upstream.slow_started.wait(), 10)
            proc.send_signal(signal.SIGTERM)
            resp = await asyncio.wait_for(in_flight, 10)
            assert resp.status == 200 and await resp.text() == "slow ok"
        code = await asyncio.get_running_loop().run_in_executor(None, proc.wait, 20)
        assert code == 0, proc.communicate()[0]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_workers_refuse_the_memory_store() -> None:
    done = run_albauth("serve", "--workers", "2", env={"ALBAUTH_UPSTREAM": "http://127.0.0.1:9",
                                                       "ALBAUTH_SESSION_STORE": "memory",
                                                       "ALBAUTH_LISTEN": "127.0.0.1:9"}, timeout=60)
    assert done.returncode == 2, done.stderr
    assert "memory store" in done.stderr
