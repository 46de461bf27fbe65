"""Hot reload of a real `albauth serve`: SIGHUP (or `--watch`) swaps the configuration
while requests are in flight, a broken file changes nothing, and the generation in force
shows on /readyz and in the metrics."""

from __future__ import annotations

import asyncio
import os
import signal
import textwrap
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer, unused_port

from tests.support import ServeProcess

SLOW_SECONDS = 1.5


def config_text(port: int, admin: int, target: str, answer: str, *, extra_rule: str = "") -> str:
    return textwrap.dedent(f"""\
        albauth:
          admin_listen: 127.0.0.1:{admin}
          target_groups:
            app: {{targets: [{target}]}}
        listeners:
          - Protocol: HTTP
            Port: {port}
            albauth: {{address: 127.0.0.1}}
            DefaultActions: [{{Type: forward, TargetGroupArn: app}}]
            Rules:
              - Priority: 1
                Conditions: [{{Field: path-pattern, Values: [/rule]}}]
                Actions: [{{Type: fixed-response, FixedResponseConfig: {{StatusCode: "200", MessageBody: {answer}}}}}]
        """) + extra_rule


@pytest.fixture
async def slow_target() -> AsyncIterator[str]:
    async def slow(_: web.Request) -> web.Response:
        await asyncio.sleep(SLOW_SECONDS)
        return web.Response(text="slow done")

    app = web.Application()
    app.router.add_get("/slow", slow)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield str(server.make_url("")).rstrip("/")
    await server.close()


class Served:
    def __init__(self, tmp_path: Path, target: str, *args: str) -> None:
        self.port, self.admin = unused_port(), unused_port()
        self.target = target
        self.file = tmp_path / "albauth.yaml"
        self.write("one")
        self.proc = ServeProcess({"ALBAUTH_LISTEN": f"127.0.0.1:{self.port}"}, "--config", str(self.file), *args)
        self.base = f"http://127.0.0.1:{self.port}"

    def write(self, answer: str, extra_rule: str = "") -> None:
        text = config_text(self.port, self.admin, self.target, answer, extra_rule=extra_rule)
        tmp = self.file.with_suffix(".tmp")
        tmp.write_text(text)
        os.replace(tmp, self.file)  # as editors and config managers do: never half a file

    async def wait_ready(self) -> None:
        """The listener, then the admin listener (it starts after the listeners)."""
        await self.proc.wait_ready()

        async def admin_up() -> bool:
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", self.admin)
            except OSError:
                return False
            writer.close()
            return True

        await until(admin_up)

    async def readyz(self, http: aiohttp.ClientSession) -> dict[str, object]:
        async with http.get(f"http://127.0.0.1:{self.admin}/readyz") as resp:
            body: dict[str, object] = await resp.json()
            return body

    async def metric(self, http: aiohttp.ClientSession, sample: str) -> float:
        async with http.get(f"http://127.0.0.1:{self.admin}/metrics") as resp:
            for line in (await resp.text()).splitlines():
                if line.startswith(sample + " "):
                    return float(line.rsplit(" ", 1)[1])
        return 0.0


async def until(check: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


@pytest.fixture
async def served(tmp_path: Path, slow_target: str) -> AsyncIterator[Served]:
    s = Served(tmp_path, slow_target)
    await s.wait_ready()
    yield s
    s.proc.stop()


async def text_of(http: aiohttp.ClientSession, url: str) -> str:
    async with http.get(url) as resp:
        assert resp.status == 200
        return await resp.text()


async def test_sighup_applies_a_changed_rule_while_a_slow_request_finishes(served: Served) -> None:
    async with aiohttp.ClientSession() as http:
        assert await text_of(http, served.base + "/rule") == "one"
        slow = asyncio.ensure_future(text_of(http, served.base + "/slow"))
        await asyncio.sleep(0.3)  # the request is at the target now
        served.write("two")
        served.proc.proc.send_signal(signal.SIGHUP)
        await until(lambda: _generation_is(served, http, 2))
        assert await text_of(http, served.base + "/rule") == "two"
        assert not slow.done()  # in flight across the reload ...
        assert await slow == "slow done"  # ... and answered in full
        assert await served.metric(http, "albauth_config_generation") == 2
        assert await served.metric(http, 'albauth_config_reload_count_total{result="applied"}') == 1


async def test_a_broken_file_is_rejected_with_every_problem_logged_and_the_old_rules_keep_serving(
        served: Served) -> None:
    broken_rules = textwrap.indent(textwrap.dedent("""\
        - Priority: 2
          Conditions: [{Field: path-pattern, Values: [/x]}]
          Actions: [{Type: no-such-action}]
        - Priority: 3
          Conditions: [{Field: no-such-field, Values: [/y]}]
          Actions: [{Type: forward, TargetGroupArn: app}]
        """), "      ")
    async with aiohttp.ClientSession() as http:
        served.write("two", extra_rule=broken_rules)
        served.proc.proc.send_signal(signal.SIGHUP)
        rejected = 'albauth_config_reload_count_total{result="rejected"}'
        await until(lambda: _metric_is(served, http, rejected, 1))
        assert await text_of(http, served.base + "/rule") == "one"
        ready = await served.readyz(http)
        assert ready["generation"] == 1 and ready["status"] == "ready"
    served.proc.proc.send_signal(signal.SIGTERM)
    _, log = served.proc.proc.communicate(timeout=30)
    problems = [line for line in log.splitlines() if "reload rejected:" in line]
    assert len(problems) >= 2, log  # each problem on its own line
    assert any("no-such-action" in p for p in problems) and any("no-such-field" in p for p in problems), log
    assert "still serving the previous configuration" in log


async def test_watch_reloads_when_the_file_changes(tmp_path: Path, slow_target: str) -> None:
    served = Served(tmp_path, slow_target, "--watch")
    try:
        await served.wait_ready()
        async with aiohttp.ClientSession() as http:
            assert await text_of(http, served.base + "/rule") == "one"
            served.write("three")
            await until(lambda: _generation_is(served, http, 2))
            assert await text_of(http, served.base + "/rule") == "three"
    finally:
        served.proc.stop()


async def test_sigusr1_reopens_the_access_log_file_logrotate_moved(tmp_path: Path, slow_target: str) -> None:
    log_file, rotated = tmp_path / "access.log", tmp_path / "access.log.1"
    served = Served(tmp_path, slow_target, "--access-log-file", str(log_file))
    try:
        await served.wait_ready()
        async with aiohttp.ClientSession() as http:
            await text_of(http, served.base + "/rule")
            await until(lambda: _has_lines(log_file, 1))
            os.rename(log_file, rotated)
            served.proc.proc.send_signal(signal.SIGUSR1)
            await until(lambda: _exists(log_file))
            await text_of(http, served.base + "/rule?after")
            await until(lambda: _has_lines(log_file, 1))
        assert "/rule?after" in log_file.read_text() and "/rule?after" not in rotated.read_text()
    finally:
        served.proc.stop()


async def _generation_is(served: Served, http: aiohttp.ClientSession, number: int) -> bool:
    return (await served.readyz(http))["generation"] == number


async def _metric_is(served: Served, http: aiohttp.ClientSession, sample: str, value: float) -> bool:
    return await served.metric(http, sample) == value


async def _has_lines(path: Path, count: int) -> bool:
    return path.exists() and len(path.read_text().splitlines()) >= count


async def _exists(path: Path) -> bool:
    return path.exists()
